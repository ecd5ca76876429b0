import { createHash, randomBytes } from "node:crypto";
import { existsSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeOnEachDatabase } from "../../test/support/databases.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";
import { BlobStore } from "../storage/blob-store.js";
import { GarbageCollector } from "./garbage-collector.js";
import { OCI_MANIFEST } from "./manifest-format.js";
import { pushUnderCollection } from "./testing/push-under-collection.js";
import {
  basicAuth,
  type RegistryClient,
  registryClient,
  sha256,
  uniqueRepository,
} from "./testing/registry-client.js";

const ADMIN_BASIC = basicAuth("admin", ADMIN_PASSWORD);
const HOUR = 3_600_000;

describeOnEachDatabase("registry garbage collection", (databases) => {
  const suite = trustdockForSuite(databases);
  let td: TestTrustdock;
  let registry: RegistryClient;
  let blobs: BlobStore;
  let collector: GarbageCollector;

  beforeAll(async () => {
    td = suite.td;
    registry = registryClient(td.app, ADMIN_BASIC);
    blobs = await BlobStore.open(join(td.dataDir, "blobs"));
    collector = new GarbageCollector(td.db, blobs);
  });

  const status = async (repo: string, digest: string) =>
    (await registry.call("HEAD", `/v2/${repo}/blobs/${digest}`)).status;
  const names = (removed: readonly { name: string }[]) => removed.map((r) => r.name);

  it("removes blobs no manifest names, with their links, rows and files, and keeps every named one", async () => {
    const image = uniqueRepository("gc-image");
    const other = uniqueRepository("gc-other");
    const kept = await registry.pushImage(image, "v1", { content: "kept image" });
    const keptBlobs = JSON.parse(kept.bytes.toString()) as {
      config: { digest: string };
      layers: { digest: string }[];
    };
    // The same layer linked into another repository with no manifest there: still named by `image`'s.
    const layerBytes = "layer of kept image";
    await registry.pushBlob(other, layerBytes);
    const orphan = await registry.pushBlob(other, randomBytes(1000));
    const dropped = await registry.pushImage(image, "v2", { content: "dropped image" });
    const droppedBlobs = JSON.parse(dropped.bytes.toString()) as { config: { digest: string; size: number } };
    expect((await registry.call("DELETE", `/v2/${image}/manifests/${dropped.digest}`)).status).toBe(202);

    const report = await collector.collect({ graceMs: 0 });

    expect(report.dryRun).toBe(false);
    expect(report.blobs).toEqual(
      expect.arrayContaining([
        { name: orphan.digest, bytes: 1000 },
        { name: droppedBlobs.config.digest, bytes: droppedBlobs.config.size },
      ]),
    );
    expect(names(report.blobs)).not.toContain(keptBlobs.config.digest);
    expect(names(report.blobs)).not.toContain(sha256(layerBytes));
    expect(await status(other, orphan.digest)).toBe(404);
    expect(existsSync(blobs.blobPath(orphan.digest))).toBe(false);
    expect(await td.db.query("SELECT 1 FROM registry_blobs WHERE digest = $1", [orphan.digest])).toEqual([]);
    for (const digest of [keptBlobs.config.digest, ...keptBlobs.layers.map((layer) => layer.digest)])
      expect(await status(image, digest)).toBe(200);
    expect(await status(other, sha256(layerBytes))).toBe(200);
    const pulled = await registry.call("GET", `/v2/${image}/blobs/${sha256(layerBytes)}`);
    expect(pulled.body.toString()).toBe(layerBytes);
    // A manifest push naming a removed blob is told so, and succeeds once the blob is pushed again.
    const again = await registry.pushManifest(
      other,
      "orphan",
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: orphan.digest, size: 1000 },
        layers: [],
      },
      OCI_MANIFEST,
    );
    expect([again.reply.status, again.reply.json().errors[0]?.code]).toEqual([400, "MANIFEST_BLOB_UNKNOWN"]);
  });

  it("keeps a foreign layer that was pushed although its manifest does not need it", async () => {
    const repo = uniqueRepository("gc-foreign");
    const config = await registry.pushBlob(repo, JSON.stringify({ os: "windows", architecture: "amd64" }));
    const foreign = await registry.pushBlob(repo, randomBytes(200));
    const pushed = await registry.pushManifest(
      repo,
      "v1",
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { ...config, mediaType: "application/vnd.oci.image.config.v1+json" },
        layers: [
          {
            mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            digest: foreign.digest,
            size: foreign.size,
            urls: ["https://example.com/layer"],
          },
        ],
      },
      OCI_MANIFEST,
    );
    expect(pushed.reply.status).toBe(201);
    expect(names((await collector.collect({ graceMs: 0 })).blobs)).not.toContain(foreign.digest);
    expect(await status(repo, foreign.digest)).toBe(200);
  });

  it("keeps blobs pushed within the grace window, and removes them once it is over", async () => {
    const repo = uniqueRepository("gc-grace");
    const blob = await registry.pushBlob(repo, randomBytes(64));
    expect(names((await collector.collect({ graceMs: HOUR })).blobs)).not.toContain(blob.digest);
    expect(await status(repo, blob.digest)).toBe(200);
    // Pushed again into the same repository: the grace window starts again from the new link.
    await td.db.query("UPDATE registry_blobs SET created_at = now() - interval '3 hours' WHERE digest = $1", [
      blob.digest,
    ]);
    await td.db.query(
      "UPDATE registry_repository_blobs SET created_at = now() - interval '3 hours' WHERE digest = $1",
      [blob.digest],
    );
    await registry.pushBlob(repo, (await registry.call("GET", `/v2/${repo}/blobs/${blob.digest}`)).body);
    expect(names((await collector.collect({ graceMs: 2 * HOUR })).blobs)).not.toContain(blob.digest);
    await td.db.query(
      "UPDATE registry_repository_blobs SET created_at = now() - interval '3 hours' WHERE digest = $1",
      [blob.digest],
    );
    expect(names((await collector.collect({ graceMs: 2 * HOUR })).blobs)).toContain(blob.digest);
    expect(await status(repo, blob.digest)).toBe(404);
  });

  it("lists in a dry run what it would remove, and removes nothing", async () => {
    const repo = uniqueRepository("gc-dry");
    const blob = await registry.pushBlob(repo, randomBytes(300));
    const upload = await registry.call("POST", `/v2/${repo}/blobs/uploads/`);
    const report = await collector.collect({ graceMs: 0, dryRun: true });
    expect(report.dryRun).toBe(true);
    expect(report.blobs).toContainEqual({ name: blob.digest, bytes: 300 });
    expect(names(report.uploads)).toContain(upload.headers["docker-upload-uuid"]);
    expect(await status(repo, blob.digest)).toBe(200);
    expect((await registry.call("GET", String(upload.headers.location))).status).toBe(204);
  });

  it("removes upload sessions left longer than the grace window, and their files", async () => {
    const repo = uniqueRepository("gc-uploads");
    const started = await registry.call("POST", `/v2/${repo}/blobs/uploads/`);
    const location = String(started.headers.location);
    const id = String(started.headers["docker-upload-uuid"]);
    await registry.call("PATCH", location, {
      headers: { "content-type": "application/octet-stream" },
      body: randomBytes(5000),
    });
    expect(names((await collector.collect({ graceMs: HOUR })).uploads)).not.toContain(id);

    const report = await collector.collect({ graceMs: 0 });

    expect(report.uploads).toContainEqual({ name: id, bytes: 5000 });
    expect(existsSync(blobs.uploadPath(id))).toBe(false);
    const status = await registry.call("GET", location);
    expect([status.status, status.json().errors[0]?.code]).toEqual([404, "BLOB_UPLOAD_UNKNOWN"]);
  });

  it("removes blob files that no row names once they are older than the grace window", async () => {
    const bytes = randomBytes(700);
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    await blobs.createUpload("stray-file");
    writeFileSync(blobs.uploadPath("stray-file"), bytes);
    await blobs.commitUpload("stray-file", digest, bytes.length);
    expect(names((await collector.collect({ graceMs: HOUR })).strayFiles)).not.toContain(digest);
    const hourAgo = new Date(Date.now() - HOUR - 1000);
    utimesSync(blobs.blobPath(digest), hourAgo, hourAgo);

    const report = await collector.collect({ graceMs: HOUR });

    expect(report.strayFiles).toContainEqual({ name: digest, bytes: 700 });
    expect(existsSync(blobs.blobPath(digest))).toBe(false);
  });

  it("leaves every stored manifest's blobs whole while pushes race collections with no grace", async () => {
    const outcome = await pushUnderCollection({
      repositories: [uniqueRepository("gc-race-a"), uniqueRepository("gc-race-b")],
      clients: [registry.call, registry.call],
      collect: () => collector.collect({ graceMs: 0 }),
      durationMs: 8000,
      pauseMs: 100,
    });
    // The race was run: collections removed blobs that pushes then needed again.
    expect(outcome.pushed).toBeGreaterThanOrEqual(3);
    expect(outcome.blobsPushedAgain).toBeGreaterThan(0);
    expect(outcome.collectedBlobs).toBeGreaterThan(0);
    expect(outcome.broken).toEqual([]);
    const rows = await td.db.query<{ digest: string; size: string | number }>(
      "SELECT digest, size FROM registry_blobs",
    );
    for (const row of rows)
      expect([row.digest, await blobs.size(row.digest)]).toEqual([row.digest, Number(row.size)]);
  }, 60_000);
});
