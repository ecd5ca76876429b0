import { randomBytes } from "node:crypto";
import type { CollectionReport } from "../garbage-collector.js";
import { OCI_MANIFEST } from "../manifest-format.js";
import { ociImageManifest, sha256 } from "./registry-client.js";

// Test support: image pushes racing garbage collections, then a check that every manifest the registry
// still holds can be pulled with all its blobs, byte for byte. Used in-process and across server processes.

/** One registry request, whichever way it travels (app.inject or HTTPS to a server process). */
export type RegistryCall = (
  method: string,
  path: string,
  opts?: { headers?: Record<string, string>; body?: Buffer | string },
) => Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>;

export interface PushUnderCollectionOptions {
  /** One pushing client per repository (for instance, each through its own server process). */
  readonly repositories: readonly string[];
  readonly clients: readonly RegistryCall[];
  readonly collect: () => Promise<CollectionReport>;
  readonly durationMs: number;
  /**
   * The longest pause between one collection and the next (default 50 ms); each is drawn at random, so
   * collections land at every point of a push and pushes still get through now and then.
   */
  readonly pauseMs?: number;
}

export interface PushUnderCollectionOutcome {
  /** Manifests answered 201. */
  readonly pushed: number;
  /** Manifest pushes answered MANIFEST_BLOB_UNKNOWN (a blob collected since it was pushed) and pushed again. */
  readonly blobsPushedAgain: number;
  readonly collections: number;
  readonly collectedBlobs: number;
  /** What could not be pulled whole afterwards; empty when the registry kept its word. */
  readonly broken: readonly string[];
}

interface PushedImage {
  readonly repository: string;
  readonly digest: string;
  readonly bytes: Buffer;
  readonly blobs: ReadonlyMap<string, Buffer>;
}

// Base layers every pusher uses, so uploads of one digest from several repositories race its collection.
const BASE_LAYERS = [0, 1, 2].map((i) => Buffer.from(`shared base layer ${i} `.repeat(200 + i)));
const MAX_PUSHES_PER_CLIENT = 300;
const ATTEMPTS = 5;

export async function pushUnderCollection(
  opts: PushUnderCollectionOptions,
): Promise<PushUnderCollectionOutcome> {
  const deadline = Date.now() + opts.durationMs;
  const stored: PushedImage[] = [];
  let blobsPushedAgain = 0;
  let collections = 0;
  let collectedBlobs = 0;

  const pusher = async (client: RegistryCall, repository: string) => {
    const mine: PushedImage[] = [];
    for (let n = 0; n < MAX_PUSHES_PER_CLIENT && Date.now() < deadline; n++) {
      const image = await pushImage(client, repository, n, () => blobsPushedAgain++);
      if (image) mine.push(image);
      // Deleting some manifests again leaves their blobs, the shared base layers among them, to collect.
      if (mine.length > 2 && n % 3 === 0) {
        const [gone] = mine.splice(n % mine.length, 1);
        if (gone) {
          const res = await client("DELETE", `/v2/${repository}/manifests/${gone.digest}`);
          if (res.status !== 202) mine.push(gone);
        }
      }
    }
    stored.push(...mine);
  };
  const collector = async () => {
    while (Date.now() < deadline) {
      const report = await opts.collect();
      collections++;
      collectedBlobs += report.blobs.length;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * (opts.pauseMs ?? 50)));
    }
  };
  await Promise.all([
    ...opts.clients.map((client, i) => pusher(client, opts.repositories[i] ?? "")),
    collector(),
  ]);
  // One more with nothing pushing alongside: it must not take anything a stored manifest names either.
  collectedBlobs += (await opts.collect()).blobs.length;

  const broken: string[] = [];
  for (const [i, image] of stored.entries()) {
    // Pulled through a client other than the one that pushed it, when there are several.
    const client = opts.clients[(opts.repositories.indexOf(image.repository) + 1 + i) % opts.clients.length];
    if (!client) throw new Error("no client to pull with");
    const manifest = await client("GET", `/v2/${image.repository}/manifests/${image.digest}`, {
      headers: { accept: OCI_MANIFEST },
    });
    if (manifest.status !== 200 || !manifest.body.equals(image.bytes))
      broken.push(`${image.repository}@${image.digest}: manifest answered ${manifest.status}`);
    for (const [digest, bytes] of image.blobs) {
      const blob = await client("GET", `/v2/${image.repository}/blobs/${digest}`);
      if (blob.status !== 200 || !blob.body.equals(bytes))
        broken.push(`${image.repository}@${image.digest}: blob ${digest} answered ${blob.status}`);
    }
  }
  return { pushed: stored.length, blobsPushedAgain, collections, collectedBlobs, broken };
}

/** A config, a base layer and an own layer, then the manifest; blobs pushed again as long as one is missing. */
async function pushImage(
  client: RegistryCall,
  repository: string,
  n: number,
  onPushedAgain: () => void,
): Promise<PushedImage | undefined> {
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", nonce: randomBytes(8).toString("hex") }),
  );
  const base = BASE_LAYERS[n % BASE_LAYERS.length] as Buffer;
  const own = randomBytes(2048 + (n % 7) * 1024);
  const blobs = new Map([
    [sha256(config), config],
    [sha256(base), base],
    [sha256(own), own],
  ]);
  const bytes = ociImageManifest(config, [base, own]);
  const digest = sha256(bytes);
  let missing = [...blobs.keys()];
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    for (const [i, blob] of missing.entries())
      await pushBlob(client, repository, blobs.get(blob) as Buffer, i % 2 === 0);
    const res = await client("PUT", `/v2/${repository}/manifests/${digest}`, {
      headers: { "content-type": OCI_MANIFEST },
      body: bytes,
    });
    if (res.status === 201) return { repository, digest, bytes, blobs };
    const error = JSON.parse(res.body.toString()).errors?.[0] as {
      code?: string;
      detail?: { digest?: string };
    };
    if (res.status !== 400 || error?.code !== "MANIFEST_BLOB_UNKNOWN")
      throw new Error(`manifest push answered ${res.status}: ${res.body.toString()}`);
    onPushedAgain();
    missing = [...blobs.keys()];
  }
  return undefined;
}

/**
 * One blob, monolithic or as a session of POST, PATCH and PUT, tried again when a collection took its
 * session (BLOB_UPLOAD_UNKNOWN); false if it never got in.
 */
async function pushBlob(
  client: RegistryCall,
  repository: string,
  bytes: Buffer,
  monolithic: boolean,
): Promise<boolean> {
  const digest = sha256(bytes);
  const octets = { "content-type": "application/octet-stream" };
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (monolithic) {
      const res = await client("POST", `/v2/${repository}/blobs/uploads/?digest=${digest}`, {
        headers: octets,
        body: bytes,
      });
      if (res.status === 201) return true;
      expectUploadGone(res);
      continue;
    }
    const started = await client("POST", `/v2/${repository}/blobs/uploads/`);
    if (started.status !== 202) throw new Error(`upload start answered ${started.status}`);
    const location = String(started.headers.location);
    const half = Math.floor(bytes.length / 2);
    const patched = await client("PATCH", location, { headers: octets, body: bytes.subarray(0, half) });
    if (patched.status !== 202) {
      expectUploadGone(patched);
      continue;
    }
    const done = await client("PUT", `${location}?digest=${digest}`, {
      headers: octets,
      body: bytes.subarray(half),
    });
    if (done.status === 201) return true;
    expectUploadGone(done);
  }
  return false;
}

/** The one refusal a collection with no grace may cause an upload: its session or file is gone. */
function expectUploadGone(res: { status: number; body: Buffer }): void {
  const code = (JSON.parse(res.body.toString()).errors?.[0] as { code?: string } | undefined)?.code;
  if (res.status !== 404 || code !== "BLOB_UPLOAD_UNKNOWN")
    throw new Error(`blob upload answered ${res.status}: ${res.body.toString()}`);
}
