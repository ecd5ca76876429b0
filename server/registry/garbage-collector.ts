import type { BlobStore } from "../storage/blob-store.js";
import type { Db, Queryable } from "../storage/db.js";
import { lockBlobs } from "./blob-locks.js";
import { parseManifest } from "./manifest-format.js";

export interface CollectionOptions {
  /**
   * What was pushed (uploaded, linked, mounted) or written more recently than this is kept whatever
   * references it: a push in progress uploads its blobs before the manifest that names them.
   */
  readonly graceMs: number;
  /** Say what would be removed, remove nothing. */
  readonly dryRun?: boolean;
}

/** One thing removed (or, in a dry run, to be removed): a digest or an upload id, and its bytes. */
export interface Removed {
  readonly name: string;
  readonly bytes: number;
}

export interface CollectionReport {
  readonly dryRun: boolean;
  /** Blobs no manifest names: their repository links, their row and their file. */
  readonly blobs: readonly Removed[];
  /** Upload sessions left unfinished, and upload files without a session. */
  readonly uploads: readonly Removed[];
  /** Blob files without a row (a crash between the collector's two steps, or mid-upload). */
  readonly strayFiles: readonly Removed[];
}

// Blobs locked and re-checked per transaction; and manifests read per query.
const SWEEP_BATCH = 100;
const MANIFEST_PAGE = 500;

interface BlobRow {
  digest: string;
  size: string | number;
}

/**
 * Removes what nothing references from the registry: blobs that no manifest in any repository names,
 * abandoned upload sessions, and stray files. Safe while server processes on the same database and blob
 * folder go on taking pushes, through the per-digest locks of blob-locks.ts.
 */
export class GarbageCollector {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async collect(opts: CollectionOptions): Promise<CollectionReport> {
    const dryRun = opts.dryRun ?? false;
    // Rows are timed by the database's clock, files by this machine's.
    const rowCutoff = await databaseCutoff(this.db, opts.graceMs);
    const fileCutoff = new Date(this.clock().getTime() - opts.graceMs);

    const references = new ManifestReferences();
    await references.refresh(this.db);
    const candidates = (await unreferencedBlobs(this.db, rowCutoff)).filter(
      (row) => !references.blobs.has(row.digest),
    );
    const blobs = dryRun
      ? candidates.map(removedBlob)
      : await this.sweepBlobs(candidates, rowCutoff, references);
    const uploads = await this.sweepUploads(rowCutoff, fileCutoff, dryRun);
    const strayFiles = await this.sweepStrayFiles(fileCutoff, dryRun);
    return { dryRun, blobs, uploads, strayFiles };
  }

  private async sweepBlobs(
    candidates: readonly BlobRow[],
    rowCutoff: string,
    references: ManifestReferences,
  ): Promise<Removed[]> {
    const removed: Removed[] = [];
    for (let i = 0; i < candidates.length; i += SWEEP_BATCH) {
      const batch = candidates.slice(i, i + SWEEP_BATCH).map((row) => row.digest);
      const doomed = await this.db.transaction(async (tx) => {
        await lockBlobs(tx, batch, "exclusive");
        // Under the locks no push can name these blobs any more; one that did before is in this read.
        await references.refresh(tx);
        const rows = (await unreferencedBlobs(tx, rowCutoff, batch)).filter(
          (row) => !references.blobs.has(row.digest),
        );
        const digests = rows.map((row) => row.digest);
        if (digests.length > 0) {
          await tx.query("DELETE FROM registry_repository_blobs WHERE digest = ANY($1::text[])", [digests]);
          await tx.query("DELETE FROM registry_blobs WHERE digest = ANY($1::text[])", [digests]);
        }
        return rows;
      });
      await this.removeBlobFiles(doomed.map((row) => row.digest));
      removed.push(...doomed.map(removedBlob));
    }
    return removed;
  }

  /**
   * Deletes the files of blobs whose rows are gone, under their locks, sparing any that an upload
   * recorded again meanwhile. Resolves with the bytes each file held.
   */
  private async removeBlobFiles(digests: readonly string[]): Promise<Map<string, number>> {
    const bytes = new Map<string, number>();
    if (digests.length === 0) return bytes;
    await this.db.transaction(async (tx) => {
      await lockBlobs(tx, digests, "exclusive");
      const back = await tx.query<{ digest: string }>(
        "SELECT digest FROM registry_blobs WHERE digest = ANY($1::text[])",
        [[...digests]],
      );
      const recorded = new Set(back.map((row) => row.digest));
      for (const digest of digests) {
        if (recorded.has(digest)) continue;
        const size = await this.blobs.removeBlob(digest);
        if (size !== undefined) bytes.set(digest, size);
      }
    });
    return bytes;
  }

  private async sweepUploads(rowCutoff: string, fileCutoff: Date, dryRun: boolean): Promise<Removed[]> {
    const abandoned = await this.db.query<{ id: string }>(
      dryRun
        ? "SELECT id FROM registry_uploads WHERE updated_at < $1::timestamptz ORDER BY id"
        : "DELETE FROM registry_uploads WHERE updated_at < $1::timestamptz RETURNING id",
      [rowCutoff],
    );
    const abandonedIds = new Set(abandoned.map((row) => row.id));
    const sessions = await this.db.query<{ id: string }>("SELECT id FROM registry_uploads");
    const live = new Set(sessions.map((row) => row.id).filter((id) => !abandonedIds.has(id)));
    const removed: Removed[] = [];
    for await (const file of this.blobs.uploadFiles()) {
      // Without a session it is a monolithic push's file (or one a crash left): kept while being written.
      const stale = abandonedIds.has(file.name) || (!live.has(file.name) && file.modified < fileCutoff);
      if (!stale) continue;
      if (!dryRun) await this.blobs.removeUpload(file.name);
      removed.push({ name: file.name, bytes: file.size });
      abandonedIds.delete(file.name);
    }
    // Sessions whose file was already gone count too, with no bytes.
    for (const id of abandonedIds) removed.push({ name: id, bytes: 0 });
    return removed.sort(byName);
  }

  private async sweepStrayFiles(fileCutoff: Date, dryRun: boolean): Promise<Removed[]> {
    const old: Removed[] = [];
    for await (const file of this.blobs.blobFiles())
      if (file.modified < fileCutoff) old.push({ name: file.name, bytes: file.size });
    const removed: Removed[] = [];
    for (let i = 0; i < old.length; i += SWEEP_BATCH) {
      const batch = old.slice(i, i + SWEEP_BATCH);
      const recorded = new Set(
        (
          await this.db.query<{ digest: string }>(
            "SELECT digest FROM registry_blobs WHERE digest = ANY($1::text[])",
            [batch.map((file) => file.name)],
          )
        ).map((row) => row.digest),
      );
      const stray = batch.filter((file) => !recorded.has(file.name));
      if (dryRun) {
        removed.push(...stray);
        continue;
      }
      const bytes = await this.removeBlobFiles(stray.map((file) => file.name));
      for (const [name, size] of bytes) removed.push({ name, bytes: size });
    }
    return removed.sort(byName);
  }
}

/**
 * The blobs every stored manifest names, read once in full and then again only for manifests stored
 * since (a manifest is never changed, only added or deleted, and a deleted one kept in the set only
 * keeps a blob one collection longer).
 */
class ManifestReferences {
  readonly blobs = new Set<string>();
  private readonly read = new Set<string>();

  async refresh(db: Queryable): Promise<void> {
    const keys = await db.query<{ repository_id: string | number; digest: string }>(
      "SELECT repository_id, digest FROM registry_manifests",
    );
    const unread = keys.filter((key) => !this.read.has(manifestKey(key)));
    for (let i = 0; i < unread.length; i += MANIFEST_PAGE) {
      const page = unread.slice(i, i + MANIFEST_PAGE);
      const rows = await db.query<{
        repository_id: string | number;
        digest: string;
        media_type: string;
        content: Uint8Array;
      }>(
        `SELECT m.repository_id, m.digest, m.media_type, m.content
         FROM registry_manifests m
         JOIN unnest($1::bigint[], $2::text[]) AS k (repository_id, digest)
           ON m.repository_id = k.repository_id AND m.digest = k.digest`,
        [page.map((key) => String(key.repository_id)), page.map((key) => key.digest)],
      );
      for (const row of rows) {
        let blobs: readonly string[];
        try {
          blobs = namedBlobs(row.content, row.media_type);
        } catch (err) {
          // Better to stop than to remove blobs that an unreadable manifest may name.
          throw new Error(
            `manifest ${row.digest} (repository id ${row.repository_id}) cannot be read, so the collection stopped: ${(err as Error).message}`,
          );
        }
        for (const digest of blobs) this.blobs.add(digest);
      }
      for (const key of page) this.read.add(manifestKey(key));
    }
  }
}

/**
 * The blobs a stored manifest names: what a push of it needs, and also the layers it may do without
 * (foreign ones, fetched from their `urls`), which are kept if they were pushed all the same.
 */
function namedBlobs(content: Uint8Array, mediaType: string): string[] {
  const needed = parseManifest(content, mediaType).blobs;
  const { layers } = JSON.parse(Buffer.from(content).toString("utf8")) as { layers?: unknown };
  const all = Array.isArray(layers)
    ? layers.map((layer) => (layer as { digest?: unknown }).digest).filter((d) => typeof d === "string")
    : [];
  return [...needed, ...all];
}

/**
 * The database's time less the grace window, as the database writes it: a JS Date keeps milliseconds
 * only, and a row written in the same millisecond as the collection would look newer than a truncated one.
 */
async function databaseCutoff(db: Queryable, graceMs: number): Promise<string> {
  const rows = await db.query<{ cutoff: string }>(
    "SELECT (now() - $1::double precision * interval '1 millisecond')::text AS cutoff",
    [graceMs],
  );
  if (rows[0] === undefined) throw new Error("the database did not tell the time");
  return rows[0].cutoff;
}

function manifestKey(key: { repository_id: string | number; digest: string }): string {
  return `${key.repository_id} ${key.digest}`;
}

/** Blobs that neither arrived nor were linked anywhere since `cutoff` (among `only`, when given). */
async function unreferencedBlobs(
  db: Queryable,
  cutoff: string,
  only?: readonly string[],
): Promise<BlobRow[]> {
  return db.query<BlobRow>(
    `SELECT b.digest, b.size FROM registry_blobs b
     WHERE b.created_at < $1::timestamptz AND ($2::text[] IS NULL OR b.digest = ANY($2::text[]))
       AND NOT EXISTS (
         SELECT 1 FROM registry_repository_blobs l WHERE l.digest = b.digest AND l.created_at >= $1::timestamptz
       )
     ORDER BY b.digest`,
    [cutoff, only === undefined ? null : [...only]],
  );
}

function removedBlob(row: BlobRow): Removed {
  return { name: row.digest, bytes: Number(row.size) };
}

function byName(a: Removed, b: Removed): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
