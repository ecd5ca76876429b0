import type { RepositoryCatalog } from "../projects/catalog.js";
import type { Db } from "../storage/db.js";
import type { Migration } from "../storage/migrations.js";
import type { StoredManifest } from "./registry-store.js";

/** Every committed change to a repository's manifests or tags NOTIFYs this channel with its name. */
export const MANIFEST_CHANGES_CHANNEL = "registry_manifest_changes";

/**
 * The NOTIFY comes from triggers, so that every writer (pushes, deletes, garbage collection, a process
 * running older code) announces its changes; an unknown repository (its row deleted in the same
 * statement) announces '' and every process drops everything. Its own migration scope, after the
 * registry's tables.
 */
export const manifestChangesMigrations: Migration[] = [
  {
    version: 1,
    name: "NOTIFY registry_manifest_changes on every change to manifests and tags",
    sql: `
      CREATE FUNCTION registry_notify_manifest_change() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        changed_id bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.repository_id ELSE NEW.repository_id END;
        repository text;
      BEGIN
        SELECT name INTO repository FROM registry_repositories WHERE id = changed_id;
        PERFORM pg_notify('${MANIFEST_CHANGES_CHANNEL}', coalesce(repository, ''));
        RETURN NULL;
      END
      $$;
      CREATE TRIGGER registry_manifests_notify AFTER INSERT OR UPDATE OR DELETE ON registry_manifests
        FOR EACH ROW EXECUTE FUNCTION registry_notify_manifest_change();
      CREATE TRIGGER registry_tags_notify AFTER INSERT OR UPDATE OR DELETE ON registry_tags
        FOR EACH ROW EXECUTE FUNCTION registry_notify_manifest_change();
    `,
  },
];

// Manifests are at most 4 MiB each: the cache is bounded in bytes as well as in entries.
const MAX_ENTRIES = 20_000;
const MAX_BYTES = 64 * 1024 * 1024;

interface RepositoryEntries {
  readonly byReference: Map<string, Promise<StoredManifest | undefined>>;
  bytes: number;
}

/**
 * The manifests pulled most often, by (repository, tag or digest), so that a pull needs no database
 * round trip. A repository's entries are dropped when any process commits a change to its manifests or
 * tags (NOTIFY), and by this process's own writes at once; everything is dropped after a gap in the
 * notifications. A process that cannot listen does not cache. Only manifests that exist are kept: a
 * manifest pushed through another process is found at once.
 *
 * A lookup is cached as its promise from the moment it starts, so a change committed while it runs drops
 * it with the rest and no answer read before the change is kept past the change's notification.
 */
export class ManifestCache {
  private readonly repositories = new Map<string, RepositoryEntries>();
  private entries = 0;
  private bytes = 0;
  private stopListening: (() => Promise<void>) | undefined;

  constructor(private readonly db: Db) {}

  /** Starts listening; if that fails the cache stays off and every lookup goes to the database. */
  async start(): Promise<void> {
    try {
      this.stopListening = await this.db.listen(
        MANIFEST_CHANGES_CHANNEL,
        (repository) => (repository === "" ? this.clear() : this.invalidate(repository)),
        () => this.clear(),
      );
    } catch {
      this.stopListening = undefined;
    }
  }

  async stop(): Promise<void> {
    const stop = this.stopListening;
    this.stopListening = undefined;
    this.clear();
    await stop?.();
  }

  /** The manifest `reference` names in `repository`, from the cache or else from `load`. */
  get(
    repository: string,
    reference: string,
    load: () => Promise<StoredManifest | undefined>,
  ): Promise<StoredManifest | undefined> {
    if (this.stopListening === undefined) return load();
    let entries = this.repositories.get(repository);
    const cached = entries?.byReference.get(reference);
    if (cached) return cached;
    if (this.entries >= MAX_ENTRIES) this.clear();
    if (!entries || this.repositories.get(repository) !== entries) {
      entries = { byReference: new Map(), bytes: 0 };
      this.repositories.set(repository, entries);
    }
    const loading = load();
    const kept = entries;
    kept.byReference.set(reference, loading);
    this.entries++;
    const forget = () => {
      if (this.repositories.get(repository) === kept && kept.byReference.get(reference) === loading) {
        kept.byReference.delete(reference);
        this.entries--;
      }
    };
    loading.then((manifest) => {
      if (manifest === undefined) return forget();
      if (this.repositories.get(repository) !== kept || kept.byReference.get(reference) !== loading) return;
      kept.bytes += manifest.content.byteLength;
      this.bytes += manifest.content.byteLength;
      if (this.bytes > MAX_BYTES) this.clear();
    }, forget);
    return loading;
  }

  /** Drops what is known of `repository`: called by this process's writes, before they answer. */
  invalidate(repository: string): void {
    const entries = this.repositories.get(repository);
    if (!entries) return;
    this.repositories.delete(repository);
    this.entries -= entries.byReference.size;
    this.bytes -= entries.bytes;
  }

  private clear(): void {
    this.repositories.clear();
    this.entries = 0;
    this.bytes = 0;
  }
}

/**
 * The Harbor API deletes repositories and artifacts by writing the registry's tables itself: through this
 * wrapper its deletions also drop this process's cached manifests at once, before the API answers.
 */
export function invalidatingCatalog(catalog: RepositoryCatalog, cache: ManifestCache): RepositoryCatalog {
  return {
    listRepositories: (...args) => catalog.listRepositories(...args),
    listArtifacts: (...args) => catalog.listArtifacts(...args),
    repository: (...args) => catalog.repository(...args),
    artifact: (...args) => catalog.artifact(...args),
    deleteRepository: async (project, repository) => {
      try {
        return await catalog.deleteRepository(project, repository);
      } finally {
        cache.invalidate(repository);
      }
    },
    deleteArtifact: async (project, repository, reference) => {
      try {
        return await catalog.deleteArtifact(project, repository, reference);
      } finally {
        cache.invalidate(repository);
      }
    },
  };
}
