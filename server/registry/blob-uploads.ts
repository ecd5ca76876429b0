import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { type BlobStore, UploadFileMissingError } from "../storage/blob-store.js";
import { createDigester, type DigestAlgorithm, type ParsedDigest } from "./digest.js";
import { RegistryError } from "./errors.js";
import { uploadLocation } from "./locations.js";
import type { RegistryStore } from "./registry-store.js";

/** Where an upload stands: its id and how many bytes it holds. */
export interface UploadState {
  readonly id: string;
  readonly size: number;
}

/** A chunk's place in the blob, from its Content-Range: first and last byte, inclusive. */
export interface ChunkRange {
  readonly start: number;
  readonly end: number;
}

/** A request body headed for an upload, with the range it claims to cover if it said so. */
export interface Chunk {
  readonly body: Readable;
  readonly range?: ChunkRange;
}

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The `Range` value of upload responses: the bytes received so far, inclusive (`0-0` for none). */
export function receivedRange(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

/**
 * Blob uploads: sessions kept in the database (any server process sharing the database and the blob
 * folder can continue one) with their bytes in the blob store, monolithic pushes and cross-repository
 * mounts. A blob is linked to its repository only once its digest is verified and its file is durable.
 */
export class BlobUploads {
  constructor(
    private readonly store: RegistryStore,
    private readonly blobs: BlobStore,
  ) {}

  async start(repository: string): Promise<UploadState> {
    const id = randomUUID();
    await this.blobs.createUpload(id);
    await this.store.createUpload(id, repository);
    return { id, size: 0 };
  }

  async status(repository: string, id: string): Promise<UploadState> {
    return { id, size: (await this.session(repository, id)).size };
  }

  /** Appends a chunk; one that does not start where the upload ends is refused with 416. */
  async append(repository: string, id: string, chunk: Chunk): Promise<UploadState> {
    const { size } = await this.session(repository, id);
    return { id, size: await this.write(repository, id, size, chunk) };
  }

  /** Finishes the upload with an optional last chunk: verified against `digest`, or discarded. */
  async finish(repository: string, id: string, digest: ParsedDigest, last?: Chunk): Promise<void> {
    let { size } = await this.session(repository, id);
    let computed: string | undefined;
    if (last) {
      // An upload that is all in this request is hashed on the way in rather than read again.
      const digester = size === 0 ? createDigester(digest.algorithm) : undefined;
      size = await this.write(repository, id, size, last, digester && ((bytes) => digester.update(bytes)));
      if (digester) computed = `${digest.algorithm}:${digester.digest("hex")}`;
    }
    computed ??= await this.hashUpload(id, size, digest.algorithm);
    if (computed !== digest.value) {
      await this.discard(id);
      throw digestMismatch(digest.value, computed);
    }
    await this.seal(id, size);
    await this.store.linkBlob(repository, digest.value, size, id, () => this.place(id, digest.value));
  }

  async cancel(repository: string, id: string): Promise<void> {
    await this.session(repository, id);
    await this.discard(id);
  }

  /** A whole blob in one request (`POST ?digest=`), without a session. */
  async putMonolithic(repository: string, digest: ParsedDigest, body: Readable): Promise<void> {
    const id = randomUUID();
    await this.blobs.createUpload(id);
    try {
      const digester = createDigester(digest.algorithm);
      const size = await this.receive(id, 0, body, (bytes) => digester.update(bytes));
      const computed = `${digest.algorithm}:${digester.digest("hex")}`;
      if (computed !== digest.value) throw digestMismatch(digest.value, computed);
      await this.seal(id, size);
      await this.store.linkBlob(repository, digest.value, size, undefined, () =>
        this.place(id, digest.value),
      );
    } finally {
      await this.blobs.removeUpload(id);
    }
  }

  /** Links a blob of `from` into `repository`; false when `from` does not hold it. */
  async mount(repository: string, from: string, digest: ParsedDigest): Promise<boolean> {
    return this.store.mountBlob(repository, from, digest.value);
  }

  private async session(repository: string, id: string): Promise<{ size: number }> {
    const upload = UPLOAD_ID.test(id) ? await this.store.upload(id) : undefined;
    if (upload?.repository !== repository) throw unknownUpload(id);
    return upload;
  }

  /** Writes `chunk` at `size` and records the new size; resolves with it. */
  private async write(
    repository: string,
    id: string,
    size: number,
    chunk: Chunk,
    observe?: (bytes: Buffer) => void,
  ): Promise<number> {
    if (chunk.range && chunk.range.start !== size) throw rangeNotSatisfiable(repository, id, size);
    const written = await this.receive(id, size, chunk.body, observe);
    if (chunk.range && written !== chunk.range.end - chunk.range.start + 1)
      throw new RegistryError("BLOB_UPLOAD_INVALID", "the chunk's length is not its Content-Range's");
    if (!(await this.store.advanceUpload(id, size, size + written))) {
      // Another request moved the upload on (or ended it) while this one wrote: this chunk does not count.
      const now = await this.store.upload(id);
      if (now === undefined) throw unknownUpload(id);
      throw rangeNotSatisfiable(repository, id, now.size);
    }
    return size + written;
  }

  /** Writes a request body into the upload file; a client that hangs up mid-body is the client's fault. */
  private async receive(
    id: string,
    offset: number,
    body: Readable,
    observe?: (bytes: Buffer) => void,
  ): Promise<number> {
    try {
      return await this.blobs.writeUpload(id, offset, body, observe);
    } catch (err) {
      if (err instanceof UploadFileMissingError) throw unknownUpload(id);
      if (body.errored || body.readableAborted)
        throw new RegistryError("BLOB_UPLOAD_INVALID", "the request body ended before its length");
      throw err;
    }
  }

  private async hashUpload(id: string, size: number, algorithm: DigestAlgorithm): Promise<string> {
    const digester = createDigester(algorithm);
    try {
      for await (const bytes of this.blobs.readUpload(id, size)) digester.update(bytes as Buffer);
    } catch (err) {
      if ((err as { code?: unknown }).code === "ENOENT") throw unknownUpload(id);
      throw err;
    }
    return `${algorithm}:${digester.digest("hex")}`;
  }

  private async seal(id: string, size: number): Promise<void> {
    try {
      await this.blobs.sealUpload(id, size);
    } catch (err) {
      if (err instanceof UploadFileMissingError) throw unknownUpload(id);
      throw err;
    }
  }

  private async place(id: string, digest: string): Promise<void> {
    try {
      await this.blobs.placeUpload(id, digest);
    } catch (err) {
      if (err instanceof UploadFileMissingError) throw unknownUpload(id);
      throw err;
    }
  }

  private async discard(id: string): Promise<void> {
    await this.store.deleteUpload(id);
    await this.blobs.removeUpload(id);
  }
}

function unknownUpload(id: string): RegistryError {
  return new RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", { detail: { id } });
}

function digestMismatch(expected: string, computed: string): RegistryError {
  return new RegistryError("DIGEST_INVALID", "provided digest did not match uploaded content", {
    detail: { expected, computed },
  });
}

/** 416 with where the upload stands, so the client can resume from there. */
export function rangeNotSatisfiable(repository: string, id: string, size: number): RegistryError {
  return new RegistryError("BLOB_UPLOAD_INVALID", "the chunk does not start where the upload ends", {
    status: 416,
    headers: {
      Location: uploadLocation(repository, id),
      Range: receivedRange(size),
      "Docker-Upload-UUID": id,
    },
  });
}
