import type { FileHandle } from "node:fs/promises";
import type { BlobStore } from "../storage/blob-store.js";
import { digestOf, type ParsedDigest, parseDigest } from "./digest.js";
import { RegistryError } from "./errors.js";
import type { ManifestCache } from "./manifest-cache.js";
import { OCI_INDEX, parseManifest } from "./manifest-format.js";
import { isTag } from "./names.js";
import type { PullPolicy } from "./pull-policy.js";
import type { Referrer, RegistryStore, StoredManifest } from "./registry-store.js";

/** A manifest reference from a URL: a tag or a digest. */
export type Reference = { readonly tag: string } | { readonly digest: ParsedDigest };

export function parseReference(text: string): Reference {
  if (text.includes(":")) {
    const digest = parseDigest(text);
    if (!digest) throw new RegistryError("DIGEST_INVALID", `${text} is not a supported digest`);
    return { digest };
  }
  if (!isTag(text)) throw new RegistryError("TAG_INVALID", `${text} is not a valid tag`);
  return { tag: text };
}

/** One page of a listing, and the name to continue after when there is more. */
export interface Page {
  readonly items: string[];
  readonly next?: string;
}

export interface ReferrersIndex {
  readonly schemaVersion: 2;
  readonly mediaType: typeof OCI_INDEX;
  readonly manifests: Referrer[];
}

/** Blob reads and deletes, manifests, tags, the catalog and referrers, over the store and the blob files. */
export class RegistryService {
  constructor(
    private readonly store: RegistryStore,
    private readonly blobs: BlobStore,
    private readonly pullPolicy?: PullPolicy,
    private readonly cache?: ManifestCache,
  ) {}

  /** The blob's size if the repository holds it and its file is there. */
  async blobSize(repository: string, digest: ParsedDigest): Promise<number> {
    const size = await this.store.blobSize(repository, digest.value);
    if (size === undefined || (await this.blobs.size(digest.value)) === undefined)
      throw new RegistryError("BLOB_UNKNOWN", "blob unknown to registry", {
        detail: { digest: digest.value },
      });
    return size;
  }

  /** The blob's file, open for reading; the caller closes it. A file collected meanwhile is an unknown blob. */
  async openBlob(digest: ParsedDigest): Promise<FileHandle> {
    try {
      return await this.blobs.open(digest.value);
    } catch (err) {
      if ((err as { code?: unknown }).code !== "ENOENT") throw err;
      throw new RegistryError("BLOB_UNKNOWN", "blob unknown to registry", {
        detail: { digest: digest.value },
      });
    }
  }

  /** Unlinks the blob from the repository; its file stays for a later garbage collection. */
  async deleteBlob(repository: string, digest: ParsedDigest): Promise<void> {
    if (!(await this.store.unlinkBlob(repository, digest.value)))
      throw new RegistryError("BLOB_UNKNOWN", "blob unknown to registry", {
        detail: { digest: digest.value },
      });
  }

  /** Stores a pushed manifest under its digest (and tag); resolves with the digest and its subject. */
  async putManifest(
    repository: string,
    reference: Reference,
    bytes: Uint8Array,
    contentType: string | undefined,
  ): Promise<{ digest: string; subject?: string }> {
    const parsed = parseManifest(bytes, contentType);
    let digest: string;
    if ("digest" in reference) {
      digest = digestOf(bytes, reference.digest.algorithm);
      if (digest !== reference.digest.value)
        throw new RegistryError("DIGEST_INVALID", "provided digest did not match uploaded content", {
          detail: { expected: reference.digest.value, computed: digest },
        });
    } else {
      digest = digestOf(bytes);
    }
    const missing = await this.store.putManifest(
      repository,
      { digest, mediaType: parsed.mediaType, content: bytes, parsed },
      "tag" in reference ? reference.tag : undefined,
    );
    this.cache?.invalidate(repository);
    const unknown = missing.blobs[0] ?? missing.manifests[0];
    if (unknown !== undefined)
      throw new RegistryError(
        "MANIFEST_BLOB_UNKNOWN",
        `the repository lacks ${missing.blobs.length + missing.manifests.length} of the manifest's references`,
        { detail: { digest: unknown } },
      );
    return { digest, subject: parsed.subject };
  }

  /** The manifest a reference names, once the pull policy allows it. */
  async manifest(repository: string, reference: Reference): Promise<StoredManifest> {
    const manifest = await (this.cache
      ? this.cache.get(repository, referenceKey(reference), () => this.lookUp(repository, reference))
      : this.lookUp(repository, reference));
    if (!manifest) throw manifestUnknown(reference);
    await this.pullPolicy?.check(repository, manifest);
    return manifest;
  }

  private lookUp(repository: string, reference: Reference): Promise<StoredManifest | undefined> {
    return "tag" in reference
      ? this.store.manifestByTag(repository, reference.tag)
      : this.store.manifestByDigest(repository, reference.digest.value);
  }

  /** By digest: the manifest and its tags. By tag: the tag alone. */
  async deleteManifest(repository: string, reference: Reference): Promise<void> {
    const deleted =
      "tag" in reference
        ? await this.store.deleteTag(repository, reference.tag)
        : await this.store.deleteManifest(repository, reference.digest.value);
    this.cache?.invalidate(repository);
    if (!deleted) throw manifestUnknown(reference);
  }

  async tags(repository: string, limit: number | undefined, after: string | undefined): Promise<Page> {
    if (!(await this.store.repositoryExists(repository)))
      throw new RegistryError("NAME_UNKNOWN", "repository name not known to registry", {
        detail: { name: repository },
      });
    return page(limit, (query) => this.store.tags(repository, { ...query, after }));
  }

  async catalog(limit: number | undefined, after: string | undefined): Promise<Page> {
    return page(limit, (query) => this.store.repositories({ ...query, after }));
  }

  /** An OCI index of the manifests in the repository whose subject is `subject`. */
  async referrers(repository: string, subject: ParsedDigest, artifactType?: string): Promise<ReferrersIndex> {
    const manifests = await this.store.referrers(repository, subject.value, artifactType);
    return { schemaVersion: 2, mediaType: OCI_INDEX, manifests };
  }
}

/** Fetches one more than asked for, to know whether a next page exists. */
async function page(
  limit: number | undefined,
  fetch: (query: { limit?: number }) => Promise<string[]>,
): Promise<Page> {
  if (limit === undefined) return { items: await fetch({}) };
  const items = await fetch({ limit: limit + 1 });
  if (items.length <= limit) return { items };
  const shown = items.slice(0, limit);
  return { items: shown, next: shown[shown.length - 1] };
}

// A tag cannot hold a ':', a digest always does: one key space for both.
function referenceKey(reference: Reference): string {
  return "tag" in reference ? reference.tag : reference.digest.value;
}

function manifestUnknown(reference: Reference): RegistryError {
  return new RegistryError("MANIFEST_UNKNOWN", "manifest unknown to registry", {
    detail: "tag" in reference ? { tag: reference.tag } : { digest: reference.digest.value },
  });
}
