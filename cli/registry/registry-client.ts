/**
 * The OCI distribution v1.1 calls the CLI's cosign commands make on one registry: resolving a tag,
 * manifests and blobs read and written (monolithic uploads, skipped when the blob is already there),
 * and the referrers of a manifest (with the `sha256-<hex>` tag schema where the API is missing).
 * Everything read by digest is checked against that digest.
 */

import type { Descriptor } from "../../core/cosign/signature-manifest.js";
import { sha256Hex } from "../../core/digest.js";
import { MANIFEST_ACCEPT, OCI_INDEX } from "./media-types.js";
import { header, type RegistryReply, type RegistryTransport } from "./transport.js";

export class RegistryError extends Error {
  override readonly name = "RegistryError";
}

export interface ManifestContent {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}

export interface ReferrersIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: (Descriptor & { artifactType?: string })[];
}

export class RegistryClient {
  constructor(private readonly transport: RegistryTransport) {}

  get host(): string {
    return this.transport.host;
  }

  close(): void {
    this.transport.close();
  }

  /** The descriptor of the manifest a tag or digest names: HEAD, or GET when HEAD gives no digest. */
  async resolve(repository: string, reference: string): Promise<Descriptor> {
    const path = `/v2/${repository}/manifests/${reference}`;
    const head = await this.transport.send({
      method: "HEAD",
      path,
      repository,
      action: "pull",
      headers: { accept: MANIFEST_ACCEPT },
    });
    if (head.status === 404) throw this.notFound(repository, reference);
    const digest = header(head, "docker-content-digest");
    const size = Number(header(head, "content-length"));
    const mediaType = header(head, "content-type");
    if (head.status === 200 && digest && Number.isSafeInteger(size) && mediaType) {
      if (reference.includes(":") && digest !== reference)
        throw new RegistryError(`${this.host} answered ${digest} for the manifest ${reference}`);
      return { mediaType: bareType(mediaType), digest, size };
    }
    const manifest = await this.getManifest(repository, reference);
    if (!manifest) throw this.notFound(repository, reference);
    return { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.byteLength };
  }

  /** The manifest, or undefined when the registry has none by that reference. */
  async getManifest(repository: string, reference: string): Promise<ManifestContent | undefined> {
    const reply = await this.transport.send({
      method: "GET",
      path: `/v2/${repository}/manifests/${reference}`,
      repository,
      action: "pull",
      headers: { accept: MANIFEST_ACCEPT },
    });
    if (reply.status === 404) return undefined;
    this.expect(reply, [200], `reading the manifest ${repository}:${reference}`);
    const bytes = new Uint8Array(reply.body);
    const digest = `sha256:${sha256Hex(bytes)}`;
    if (reference.startsWith("sha256:") && reference !== digest)
      throw new RegistryError(`${this.host} served ${digest} for the manifest ${reference}`);
    const mediaType = header(reply, "content-type");
    return { bytes, mediaType: mediaType ? bareType(mediaType) : mediaTypeInside(bytes), digest };
  }

  /** Stores a manifest under a tag or its digest; `subjectAccepted` when the registry indexed its subject. */
  async putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
  ): Promise<{ digest: string; subjectAccepted: boolean }> {
    const reply = await this.transport.send({
      method: "PUT",
      path: `/v2/${repository}/manifests/${reference}`,
      repository,
      action: "push",
      headers: { "content-type": mediaType },
      body: bytes,
    });
    this.expect(reply, [201], `pushing the manifest ${repository}:${reference}`);
    return {
      digest: `sha256:${sha256Hex(bytes)}`,
      subjectAccepted: header(reply, "oci-subject") !== undefined,
    };
  }

  /** A blob's bytes, or undefined when the registry has no such blob in the repository. */
  async getBlob(repository: string, digest: string): Promise<Uint8Array | undefined> {
    const reply = await this.transport.send({
      method: "GET",
      path: `/v2/${repository}/blobs/${digest}`,
      repository,
      action: "pull",
    });
    if (reply.status === 404) return undefined;
    this.expect(reply, [200], `reading the blob ${digest} of ${repository}`);
    const bytes = new Uint8Array(reply.body);
    if (`sha256:${sha256Hex(bytes)}` !== digest)
      throw new RegistryError(`${this.host} served other bytes for the blob ${digest}`);
    return bytes;
  }

  /** Uploads a blob in one request unless the repository already holds it; its descriptor's digest. */
  async pushBlob(repository: string, bytes: Uint8Array): Promise<string> {
    const digest = `sha256:${sha256Hex(bytes)}`;
    const head = await this.transport.send({
      method: "HEAD",
      path: `/v2/${repository}/blobs/${digest}`,
      repository,
      action: "push",
    });
    if (head.status === 200) return digest;
    const started = await this.transport.send({
      method: "POST",
      path: `/v2/${repository}/blobs/uploads/`,
      repository,
      action: "push",
    });
    this.expect(started, [202], `starting an upload to ${repository}`);
    const location = header(started, "location");
    if (!location) throw new RegistryError(`${this.host} started an upload without a Location`);
    const target = new URL(location, started.url);
    target.searchParams.set("digest", digest);
    const done = await this.transport.send({
      method: "PUT",
      path: target.toString(),
      repository,
      action: "push",
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    });
    this.expect(done, [201], `uploading the blob ${digest} to ${repository}`);
    return digest;
  }

  /**
   * The manifests whose subject is `digest`: the referrers API, or where it is missing (404) the index
   * at the tag `sha256-<hex>`. Filtered here too, since a registry may ignore `artifactType`.
   */
  async referrers(
    repository: string,
    digest: string,
    artifactType?: string,
  ): Promise<ReferrersIndex["manifests"]> {
    const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : "";
    const reply = await this.transport.send({
      method: "GET",
      path: `/v2/${repository}/referrers/${digest}${query}`,
      repository,
      action: "pull",
      headers: { accept: OCI_INDEX },
    });
    let index: ReferrersIndex | undefined;
    if (reply.status === 200) index = parseIndex(reply.body, `the referrers of ${digest}`);
    else if (reply.status === 404) {
      const tagged = await this.getManifest(repository, referrersTag(digest));
      index = tagged ? parseIndex(tagged.bytes, `the index at ${referrersTag(digest)}`) : undefined;
    } else this.expect(reply, [200, 404], `listing the referrers of ${digest}`);
    const manifests = index?.manifests ?? [];
    return artifactType ? manifests.filter((m) => m.artifactType === artifactType) : manifests;
  }

  /**
   * For a registry without the referrers API (it did not answer `OCI-Subject`): adds the referrer to the
   * index at the subject's `sha256-<hex>` tag, as the OCI 1.1 spec's fallback asks.
   */
  async addToReferrersTag(
    repository: string,
    subject: string,
    referrer: ReferrersIndex["manifests"][number],
  ) {
    const tag = referrersTag(subject);
    const existing = await this.getManifest(repository, tag);
    const index: ReferrersIndex = existing
      ? parseIndex(existing.bytes, `the index at ${tag}`)
      : { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    if (index.manifests.some((m) => m.digest === referrer.digest)) return;
    index.manifests.push(referrer);
    await this.putManifest(repository, tag, new TextEncoder().encode(JSON.stringify(index)), OCI_INDEX);
  }

  private notFound(repository: string, reference: string): RegistryError {
    return new RegistryError(`${this.host}/${repository}:${reference}: MANIFEST_UNKNOWN: manifest unknown`);
  }

  private expect(reply: RegistryReply, statuses: number[], doing: string): void {
    if (statuses.includes(reply.status)) return;
    throw new RegistryError(`${doing} on ${this.host}: ${reply.status} ${errorText(reply)}`.trim());
  }
}

/** The tag the OCI referrers tag schema keeps a subject's referrers under. */
export function referrersTag(digest: string): string {
  return digest.replace(":", "-");
}

function parseIndex(bytes: Uint8Array, what: string): ReferrersIndex {
  try {
    const index = JSON.parse(Buffer.from(bytes).toString("utf8")) as ReferrersIndex;
    if (!Array.isArray(index.manifests)) throw new Error();
    return index;
  } catch {
    throw new RegistryError(`${what} is not an image index`);
  }
}

/** The registry's error codes and messages (`{"errors":[{code,message}]}`), else nothing. */
function errorText(reply: RegistryReply): string {
  try {
    const body = JSON.parse(reply.body.toString("utf8")) as {
      errors?: { code?: string; message?: string }[];
    };
    return (body.errors ?? []).map((e) => `${e.code}: ${e.message}`).join("; ");
  } catch {
    return "";
  }
}

function bareType(contentType: string): string {
  return contentType.split(";")[0]?.trim() ?? contentType;
}

function mediaTypeInside(bytes: Uint8Array): string {
  try {
    const { mediaType } = JSON.parse(Buffer.from(bytes).toString("utf8")) as { mediaType?: unknown };
    return typeof mediaType === "string" ? mediaType : "";
  } catch {
    return "";
  }
}
