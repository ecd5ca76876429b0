import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeOnEachDatabase } from "../../test/support/databases.js";
import { waitFor } from "../../test/support/processes.js";
import { BlobStore } from "../storage/blob-store.js";
import type { Db, Queryable, SqlParam } from "../storage/db.js";
import { migrate } from "../storage/migrations.js";
import { PgDb } from "../storage/pg-driver.js";
import { invalidatingCatalog, ManifestCache, manifestChangesMigrations } from "./manifest-cache.js";
import { OCI_MANIFEST } from "./manifest-format.js";
import { registryMigrations } from "./migrations.js";
import { pullStatsMigrations } from "./pull-stats.js";
import { parseReference, RegistryService } from "./registry-service.js";
import { RegistryStore } from "./registry-store.js";
import { RegistryRepositoryCatalog } from "./repository-catalog.js";

const CONFIG = {
  mediaType: "application/vnd.oci.image.config.v1+json",
  digest: `sha256:${"c".repeat(64)}`,
  size: 2,
};

function manifestBytes(label: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: CONFIG,
      layers: [],
      annotations: { label },
    }),
  );
}

/** A Db that counts manifest reads and can hold one read's answer until `release` (a lookup in flight). */
class WatchedDb implements Db {
  manifestReads = 0;
  /** The payloads the cache was notified of, once it has handled each. */
  readonly notified: string[] = [];
  private held: { release: Promise<void>; read: () => void } | undefined;

  constructor(
    private readonly inner: Db,
    private readonly listening = true,
  ) {}

  get driver() {
    return this.inner.driver;
  }

  /**
   * The next manifest read gets its rows at once but answers only when `release` is called; `read`
   * resolves once it has its rows.
   */
  holdNextRead(): { read: Promise<void>; release: () => void } {
    let release = () => {};
    let markRead = () => {};
    const read = new Promise<void>((r) => (markRead = r));
    this.held = { release: new Promise<void>((r) => (release = r)), read: markRead };
    return { read, release };
  }

  async query<Row>(sql: string, params?: readonly SqlParam[]): Promise<Row[]> {
    const isManifestRead = /FROM registry_(tags t JOIN registry_manifests|manifests\s+WHERE)/.test(sql);
    if (isManifestRead) this.manifestReads++;
    const rows = await this.inner.query<Row>(sql, params);
    const held = isManifestRead ? this.held : undefined;
    if (held) {
      this.held = undefined;
      held.read();
      await held.release;
    }
    return rows;
  }

  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.inner.transaction(work);
  }

  exec(sql: string): Promise<void> {
    return this.inner.exec(sql);
  }

  listen(channel: string, onMessage: (payload: string) => void, onGap: () => void): ReturnType<Db["listen"]> {
    if (!this.listening) return Promise.reject(new Error("LISTEN is not available"));
    return this.inner.listen(
      channel,
      (payload) => {
        onMessage(payload);
        this.notified.push(payload);
      },
      onGap,
    );
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

describeOnEachDatabase("manifest cache", (databases) => {
  let db: Db;
  let url: string | undefined;
  let dispose: () => Promise<void>;
  let blobDir: string;
  let blobs: BlobStore;
  const stops: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    ({ db, url, dispose } = await databases.create());
    await migrate(db, "registry", registryMigrations);
    await migrate(db, "registry-pulls", pullStatsMigrations);
    await migrate(db, "registry-changes", manifestChangesMigrations);
    blobDir = mkdtempSync(join(tmpdir(), "manifest-cache-"));
    blobs = await BlobStore.open(blobDir);
  });

  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  afterAll(async () => {
    await dispose();
    rmSync(blobDir, { recursive: true, force: true });
  });

  let repositories = 0;
  async function repository(): Promise<string> {
    const name = `library/cache-${++repositories}`;
    await new RegistryStore(db).linkBlob(name, CONFIG.digest, CONFIG.size);
    return name;
  }

  /** A server process: its own connections where the driver has them, its own cache. */
  async function serverProcess(opts: { listening?: boolean } = {}) {
    const own = url ? new PgDb(url) : db;
    const watched = new WatchedDb(own, opts.listening ?? true);
    const cache = new ManifestCache(watched);
    await cache.start();
    stops.push(async () => {
      await cache.stop();
      if (own !== db) await own.close();
    });
    return {
      db: watched,
      cache,
      registry: new RegistryService(new RegistryStore(watched), blobs, undefined, cache),
    };
  }

  /** Another process's writes, with no cache of its own. */
  const writer = () => new RegistryService(new RegistryStore(db), blobs);

  const push = (registry: RegistryService, repo: string, reference: string, label: string) =>
    registry.putManifest(repo, parseReference(reference), manifestBytes(label), OCI_MANIFEST);

  const served = async (registry: RegistryService, repo: string, reference: string) => {
    try {
      return (await registry.manifest(repo, parseReference(reference))).digest;
    } catch (err) {
      return (err as { code?: string }).code ?? String(err);
    }
  };

  it("serves a manifest pulled before without asking the database again", async () => {
    const repo = await repository();
    const { digest } = await push(writer(), repo, "v1", "one");
    const server = await serverProcess();
    expect(await served(server.registry, repo, "v1")).toBe(digest);
    expect(await served(server.registry, repo, digest)).toBe(digest);
    const reads = server.db.manifestReads;
    for (let i = 0; i < 5; i++) {
      expect(await served(server.registry, repo, "v1")).toBe(digest);
      expect(await served(server.registry, repo, digest)).toBe(digest);
    }
    expect(server.db.manifestReads).toBe(reads);
  });

  it("sees its own pushes and deletes at once", async () => {
    const repo = await repository();
    const server = await serverProcess();
    const first = await push(server.registry, repo, "v1", "one");
    expect(await served(server.registry, repo, "v1")).toBe(first.digest);
    const second = await push(server.registry, repo, "v1", "two");
    expect(await served(server.registry, repo, "v1")).toBe(second.digest);
    await server.registry.deleteManifest(repo, parseReference("v1"));
    expect(await served(server.registry, repo, "v1")).toBe("MANIFEST_UNKNOWN");
    await server.registry.deleteManifest(repo, parseReference(first.digest));
    expect(await served(server.registry, repo, first.digest)).toBe("MANIFEST_UNKNOWN");
  });

  it("drops a tag another process moves or deletes, and a manifest it deletes, once it is notified", async () => {
    const repo = await repository();
    const other = writer();
    const first = await push(other, repo, "v1", "one");
    const server = await serverProcess();
    expect(await served(server.registry, repo, "v1")).toBe(first.digest);
    expect(await served(server.registry, repo, first.digest)).toBe(first.digest);

    const second = await push(other, repo, "v1", "two");
    await waitFor(
      "the moved tag",
      async () => ((await served(server.registry, repo, "v1")) === second.digest ? true : undefined),
      5000,
    );
    await other.deleteManifest(repo, parseReference("v1"));
    await waitFor(
      "the deleted tag",
      async () => ((await served(server.registry, repo, "v1")) === "MANIFEST_UNKNOWN" ? true : undefined),
      5000,
    );
    await other.deleteManifest(repo, parseReference(first.digest));
    await waitFor(
      "the deleted manifest",
      async () =>
        (await served(server.registry, repo, first.digest)) === "MANIFEST_UNKNOWN" ? true : undefined,
      5000,
    );
  });

  it("drops at once what the Harbor API deletes through this process", async () => {
    const repo = await repository();
    const other = writer();
    const first = await push(other, repo, "v1", "one");
    const second = await push(other, repo, "v2", "two");
    const server = await serverProcess();
    const catalog = invalidatingCatalog(new RegistryRepositoryCatalog(db), server.cache);
    const library = { id: 1, name: "library" };
    expect(await served(server.registry, repo, "v1")).toBe(first.digest);
    expect(await served(server.registry, repo, "v2")).toBe(second.digest);
    expect((await catalog.deleteArtifact(library, repo, { tag: "v1" })).outcome).toBe("deleted");
    expect(await served(server.registry, repo, "v1")).toBe("MANIFEST_UNKNOWN");
    expect(await served(server.registry, repo, "v2")).toBe(second.digest);
    expect(await catalog.deleteRepository(library, repo)).toBe(true);
    expect(await served(server.registry, repo, "v2")).toBe("MANIFEST_UNKNOWN");
  });

  it("finds at once a manifest another process pushes after a miss", async () => {
    const repo = await repository();
    const server = await serverProcess();
    expect(await served(server.registry, repo, "v1")).toBe("MANIFEST_UNKNOWN");
    const { digest } = await push(writer(), repo, "v1", "one");
    expect(await served(server.registry, repo, "v1")).toBe(digest);
  });

  it("keeps no answer read before a change that commits while the lookup runs", async () => {
    const repo = await repository();
    const other = writer();
    const first = await push(other, repo, "v1", "one");
    const server = await serverProcess();
    const { read, release } = server.db.holdNextRead();
    const inFlight = served(server.registry, repo, "v1");
    await read;
    const second = await push(other, repo, "v1", "two");
    // The change reaches this process's cache before the answer read before it does.
    await waitFor(
      "the notification",
      async () => (server.db.notified.includes(repo) ? true : undefined),
      5000,
    );
    release();
    expect(await inFlight).toBe(first.digest);
    expect(await served(server.registry, repo, "v1")).toBe(second.digest);
  });

  it("does not cache in a process that cannot listen", async () => {
    const repo = await repository();
    const other = writer();
    const first = await push(other, repo, "v1", "one");
    const server = await serverProcess({ listening: false });
    expect(await served(server.registry, repo, "v1")).toBe(first.digest);
    const second = await push(other, repo, "v1", "two");
    expect(await served(server.registry, repo, "v1")).toBe(second.digest);
    const reads = server.db.manifestReads;
    await served(server.registry, repo, "v1");
    expect(server.db.manifestReads).toBe(reads + 1);
  });
});
