import type { Stats } from "node:fs";
import { createReadStream } from "node:fs";
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { writeGathered } from "./gathered-write.js";

// Both end up in file names: only these shapes, so no name can climb out of the store.
const DIGEST = /^([a-z0-9]+):([a-f0-9]{32,})$/;
const UPLOAD_ID = /^[A-Za-z0-9-]{1,64}$/;

/**
 * Content-addressed files: `<root>/<algorithm>/<2 hex>/<hex>`, and unfinished uploads in
 * `<root>/uploads/<id>`. A blob appears by renaming a complete, fsynced upload into place, so no reader
 * ever sees a partial blob and an acknowledged blob survives a crash. Digests are the caller's to verify.
 */
export class BlobStore {
  private constructor(readonly root: string) {}

  static async open(root: string): Promise<BlobStore> {
    await mkdir(join(root, "uploads"), { recursive: true });
    return new BlobStore(root);
  }

  blobPath(digest: string): string {
    const match = DIGEST.exec(digest);
    if (!match?.[1] || !match[2]) throw new Error(`not a digest: ${digest}`);
    return join(this.root, match[1], match[2].slice(0, 2), match[2]);
  }

  uploadPath(id: string): string {
    if (!UPLOAD_ID.test(id)) throw new Error(`not an upload id: ${id}`);
    return join(this.root, "uploads", id);
  }

  /** The blob's size, or undefined when there is no such file. */
  async size(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** The blob's file, open for reading (pulls send from it with sendFileRange); the caller closes it. */
  open(digest: string): Promise<FileHandle> {
    return open(this.blobPath(digest), "r");
  }

  /** Starts an empty upload file. */
  async createUpload(id: string): Promise<void> {
    await (await open(this.uploadPath(id), "wx")).close();
  }

  /**
   * Writes `source` into the upload from `offset` on and syncs it to disk; `observe` sees each chunk as it
   * passes (to hash it on the way). Resolves with the number of bytes written. Bytes past what the caller
   * records as the upload's size are garbage that the next write overwrites and `commitUpload` cuts off.
   */
  async writeUpload(
    id: string,
    offset: number,
    source: Readable,
    observe?: (chunk: Buffer) => void,
  ): Promise<number> {
    const file = await openExisting(this.uploadPath(id), "r+");
    try {
      return await writeGathered(source, file, offset, observe);
    } finally {
      await file.close();
    }
  }

  /** The first `size` bytes of the upload, for hashing a chunked upload once it is complete. */
  readUpload(id: string, size: number): Readable {
    return size === 0 ? Readable.from([]) : createReadStream(this.uploadPath(id), { end: size - 1 });
  }

  /**
   * Makes the upload's first `size` bytes the blob `digest`: cut, synced, renamed into place, and the
   * directory synced, so the blob is there after a crash once this resolves.
   */
  async commitUpload(id: string, digest: string, size: number): Promise<void> {
    await this.sealUpload(id, size);
    await this.placeUpload(id, digest);
  }

  /** The first half of commitUpload: cuts the upload to `size` bytes and syncs it. */
  async sealUpload(id: string, size: number): Promise<void> {
    const file = await openExisting(this.uploadPath(id), "r+");
    try {
      await file.truncate(size);
      await file.sync();
    } finally {
      await file.close();
    }
  }

  /** The second half of commitUpload: renames the sealed upload into place as `digest`, durably. */
  async placeUpload(id: string, digest: string): Promise<void> {
    const to = this.blobPath(digest);
    const created = await mkdir(dirname(to), { recursive: true });
    try {
      await rename(this.uploadPath(id), to);
    } catch (err) {
      if (isNotFound(err)) throw new UploadFileMissingError(`upload ${id} does not exist`);
      throw err;
    }
    await syncDirectory(dirname(to));
    // A directory made just now is durable only once its parents record it.
    if (created !== undefined) {
      for (let dir = dirname(to); dir !== dirname(created); dir = dirname(dir)) {
        await syncDirectory(dirname(dir));
      }
    }
  }

  async removeUpload(id: string): Promise<void> {
    await rm(this.uploadPath(id), { force: true });
  }

  /** Deletes the blob's file; resolves with the bytes it held, or undefined when there was none. */
  async removeBlob(digest: string): Promise<number | undefined> {
    const size = await this.size(digest);
    if (size === undefined) return undefined;
    await rm(this.blobPath(digest), { force: true });
    return size;
  }

  /** Every blob file there is, by digest. */
  async *blobFiles(): AsyncIterable<StoredFile> {
    for (const algorithm of await subdirectories(this.root)) {
      if (algorithm === "uploads") continue;
      for (const prefix of await subdirectories(join(this.root, algorithm))) {
        for (const hex of await readdir(join(this.root, algorithm, prefix))) {
          const digest = `${algorithm}:${hex}`;
          if (!DIGEST.test(digest) || !hex.startsWith(prefix)) continue;
          const file = await statIfPresent(this.blobPath(digest));
          if (file?.isFile()) yield { name: digest, size: file.size, modified: file.mtime };
        }
      }
    }
  }

  /** Every unfinished upload file, by upload id. */
  async *uploadFiles(): AsyncIterable<StoredFile> {
    for (const id of await readdir(join(this.root, "uploads"))) {
      if (!UPLOAD_ID.test(id)) continue;
      const file = await statIfPresent(this.uploadPath(id));
      if (file?.isFile()) yield { name: id, size: file.size, modified: file.mtime };
    }
  }
}

/** A file of the store: a blob's digest or an upload's id, its size and when it was last written. */
export interface StoredFile {
  readonly name: string;
  readonly size: number;
  readonly modified: Date;
}

/** An upload file that is gone (cancelled, or finished by another process) reads as UploadFileMissingError. */
export class UploadFileMissingError extends Error {
  override readonly name = "UploadFileMissingError";
}

async function openExisting(path: string, flags: string): Promise<FileHandle> {
  try {
    return await open(path, flags);
  } catch (err) {
    if (isNotFound(err)) throw new UploadFileMissingError(`${path} does not exist`);
    throw err;
  }
}

async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

async function subdirectories(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true });
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
}

// Files come and go while a collection walks the store: one that went is simply not there.
async function statIfPresent(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown }).code === "ENOENT";
}
