import type { Db, Queryable } from "../storage/db.js";
import { lockBlobs } from "./blob-locks.js";
import type { ParsedManifest } from "./manifest-format.js";

export interface StoredManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly content: Uint8Array;
}

export interface Referrer {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Record<string, string>;
}

/** One page of a sorted listing: at most `limit` names after `after`. */
export interface PageQuery {
  readonly limit?: number;
  readonly after?: string;
}

export interface Upload {
  readonly repository: string;
  readonly size: number;
}

/** What a manifest push needs that the repository lacks; the push stores nothing unless both are empty. */
export interface MissingReferences {
  readonly blobs: readonly string[];
  readonly manifests: readonly string[];
}

const REPOSITORY_ID = "(SELECT id FROM registry_repositories WHERE name = $1)";

/** The registry's metadata: repositories, which blobs each holds, manifests, tags and upload sessions. */
export class RegistryStore {
  constructor(private readonly db: Db) {}

  async blobSize(repository: string, digest: string): Promise<number | undefined> {
    const rows = await this.db.query<{ size: string | number }>(
      `SELECT b.size FROM registry_repository_blobs l JOIN registry_blobs b ON b.digest = l.digest
       WHERE l.repository_id = ${REPOSITORY_ID} AND l.digest = $2`,
      [repository, digest],
    );
    return rows[0] === undefined ? undefined : Number(rows[0].size);
  }

  /**
   * Records the blob and links it to the repository; ends the upload session it came from, if any.
   * `placeFile` puts the blob's file in place under the same blob lock (see blob-locks.ts).
   */
  async linkBlob(
    repository: string,
    digest: string,
    size: number,
    finishedUpload?: string,
    placeFile?: () => Promise<void>,
  ): Promise<void> {
    await this.db.transaction(async (tx) => {
      await lockBlobs(tx, [digest], "shared");
      await placeFile?.();
      const repositoryId = await ensureRepository(tx, repository);
      await tx.query("INSERT INTO registry_blobs (digest, size) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
        digest,
        size,
      ]);
      await link(tx, repositoryId, digest);
      if (finishedUpload !== undefined)
        await tx.query("DELETE FROM registry_uploads WHERE id = $1", [finishedUpload]);
    });
  }

  /** Links a blob `from` holds into `repository`; false (nothing changed) when `from` lacks it. */
  async mountBlob(repository: string, from: string, digest: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await lockBlobs(tx, [digest], "shared");
      const source = await tx.query(
        `SELECT 1 FROM registry_repository_blobs WHERE repository_id = ${REPOSITORY_ID} AND digest = $2`,
        [from, digest],
      );
      if (source.length === 0) return false;
      await link(tx, await ensureRepository(tx, repository), digest);
      return true;
    });
  }

  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    const rows = await this.db.query(
      `DELETE FROM registry_repository_blobs WHERE repository_id = ${REPOSITORY_ID} AND digest = $2
       RETURNING digest`,
      [repository, digest],
    );
    return rows.length > 0;
  }

  async createUpload(id: string, repository: string): Promise<void> {
    await this.db.query("INSERT INTO registry_uploads (id, repository) VALUES ($1, $2)", [id, repository]);
  }

  async upload(id: string): Promise<Upload | undefined> {
    const rows = await this.db.query<{ repository: string; size: string | number }>(
      "SELECT repository, size FROM registry_uploads WHERE id = $1",
      [id],
    );
    const row = rows[0];
    return row === undefined ? undefined : { repository: row.repository, size: Number(row.size) };
  }

  /**
   * Moves the upload's recorded size from `from` to `to`; false if it no longer is `from` (another
   * request wrote to it meanwhile, or it was finished or cancelled).
   */
  async advanceUpload(id: string, from: number, to: number): Promise<boolean> {
    const rows = await this.db.query(
      "UPDATE registry_uploads SET size = $3, updated_at = now() WHERE id = $1 AND size = $2 RETURNING id",
      [id, from, to],
    );
    return rows.length > 0;
  }

  async deleteUpload(id: string): Promise<boolean> {
    const rows = await this.db.query("DELETE FROM registry_uploads WHERE id = $1 RETURNING id", [id]);
    return rows.length > 0;
  }

  /**
   * Stores the manifest (and points `tag` at it) if the repository holds everything it refers to, all in
   * one transaction; otherwise stores nothing and says what is missing.
   */
  async putManifest(
    repository: string,
    manifest: StoredManifest & { parsed: ParsedManifest },
    tag?: string,
  ): Promise<MissingReferences> {
    return this.db.transaction(async (tx) => {
      await lockBlobs(tx, manifest.parsed.blobs, "shared");
      const existing = await tx.query<{ id: string | number }>(
        "SELECT id FROM registry_repositories WHERE name = $1",
        [repository],
      );
      const knownId = existing[0] === undefined ? undefined : Number(existing[0].id);
      const missing = {
        blobs: await absent(tx, "registry_repository_blobs", knownId, manifest.parsed.blobs),
        manifests: await absent(tx, "registry_manifests", knownId, manifest.parsed.manifests),
      };
      if (missing.blobs.length > 0 || missing.manifests.length > 0) return missing;
      const repositoryId = knownId ?? (await ensureRepository(tx, repository));
      const { parsed } = manifest;
      await tx.query(
        `INSERT INTO registry_manifests
           (repository_id, digest, media_type, content, subject_digest, artifact_type, annotations)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
        [
          repositoryId,
          manifest.digest,
          manifest.mediaType,
          manifest.content,
          parsed.subject ?? null,
          parsed.artifactType ?? null,
          parsed.annotations ? JSON.stringify(parsed.annotations) : null,
        ],
      );
      if (tag !== undefined) {
        await tx.query(
          `INSERT INTO registry_tags (repository_id, name, digest) VALUES ($1, $2, $3)
           ON CONFLICT (repository_id, name) DO UPDATE SET digest = EXCLUDED.digest, updated_at = now()`,
          [repositoryId, tag, manifest.digest],
        );
      }
      return missing;
    });
  }

  async manifestByDigest(repository: string, digest: string): Promise<StoredManifest | undefined> {
    return manifestRow(
      await this.db.query<ManifestRow>(
        `SELECT digest, media_type, content FROM registry_manifests
         WHERE repository_id = ${REPOSITORY_ID} AND digest = $2`,
        [repository, digest],
      ),
    );
  }

  async manifestByTag(repository: string, tag: string): Promise<StoredManifest | undefined> {
    return manifestRow(
      await this.db.query<ManifestRow>(
        `SELECT m.digest, m.media_type, m.content
         FROM registry_tags t JOIN registry_manifests m ON m.repository_id = t.repository_id AND m.digest = t.digest
         WHERE t.repository_id = ${REPOSITORY_ID} AND t.name = $2`,
        [repository, tag],
      ),
    );
  }

  /**
   * Removes the manifest and every tag pointing at it, with its accessories as Harbor deletes them: the
   * cosign signatures at its `sha256-<hex>.sig` tag and the manifests whose subject it is, and theirs.
   */
  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    const rows = await this.db.query<{ digest: string }>(
      `WITH RECURSIVE doomed (digest) AS (
         SELECT digest FROM registry_manifests WHERE repository_id = ${REPOSITORY_ID} AND digest = $2
         UNION
         SELECT m.digest FROM doomed d
         LEFT JOIN registry_tags t
           ON t.repository_id = ${REPOSITORY_ID} AND t.name = replace(d.digest, ':', '-') || '.sig'
         JOIN registry_manifests m
           ON m.repository_id = ${REPOSITORY_ID} AND (m.subject_digest = d.digest OR m.digest = t.digest)
       )
       DELETE FROM registry_manifests WHERE repository_id = ${REPOSITORY_ID} AND digest IN (SELECT digest FROM doomed)
       RETURNING digest`,
      [repository, digest],
    );
    return rows.some((row) => row.digest === digest);
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    const rows = await this.db.query(
      `DELETE FROM registry_tags WHERE repository_id = ${REPOSITORY_ID} AND name = $2 RETURNING name`,
      [repository, tag],
    );
    return rows.length > 0;
  }

  async repositoryExists(repository: string): Promise<boolean> {
    const rows = await this.db.query("SELECT 1 FROM registry_repositories WHERE name = $1", [repository]);
    return rows.length > 0;
  }

  /** The repository's tags in byte order. */
  async tags(repository: string, page: PageQuery): Promise<string[]> {
    const rows = await this.db.query<{ name: string }>(
      `SELECT name FROM registry_tags WHERE repository_id = ${REPOSITORY_ID} AND name > $2
       ORDER BY name LIMIT $3`,
      [repository, page.after ?? "", page.limit ?? null],
    );
    return rows.map((row) => row.name);
  }

  /** Every repository's name in byte order. */
  async repositories(page: PageQuery): Promise<string[]> {
    const rows = await this.db.query<{ name: string }>(
      "SELECT name FROM registry_repositories WHERE name > $1 ORDER BY name LIMIT $2",
      [page.after ?? "", page.limit ?? null],
    );
    return rows.map((row) => row.name);
  }

  /** The repository's manifests whose subject is `subject`, oldest first. */
  async referrers(repository: string, subject: string, artifactType?: string): Promise<Referrer[]> {
    const rows = await this.db.query<{
      digest: string;
      media_type: string;
      size: string | number;
      artifact_type: string | null;
      annotations: string | null;
    }>(
      `SELECT digest, media_type, octet_length(content) AS size, artifact_type, annotations
       FROM registry_manifests
       WHERE repository_id = ${REPOSITORY_ID} AND subject_digest = $2 AND ($3::text IS NULL OR artifact_type = $3)
       ORDER BY created_at, digest`,
      [repository, subject, artifactType ?? null],
    );
    return rows.map((row) => ({
      mediaType: row.media_type,
      digest: row.digest,
      size: Number(row.size),
      ...(row.artifact_type === null ? {} : { artifactType: row.artifact_type }),
      ...(row.annotations === null ? {} : { annotations: JSON.parse(row.annotations) }),
    }));
  }
}

async function ensureRepository(tx: Queryable, name: string): Promise<number> {
  // DO UPDATE rather than DO NOTHING so that RETURNING yields the id of an existing row too.
  const rows = await tx.query<{ id: string | number }>(
    `INSERT INTO registry_repositories (name) VALUES ($1)
     ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
    [name],
  );
  return Number(rows[0]?.id);
}

// A link's created_at is when a push last linked the blob there: garbage collection's grace counts from it.
async function link(tx: Queryable, repositoryId: number, digest: string): Promise<void> {
  await tx.query(
    `INSERT INTO registry_repository_blobs (repository_id, digest) VALUES ($1, $2)
     ON CONFLICT (repository_id, digest) DO UPDATE SET created_at = now()`,
    [repositoryId, digest],
  );
}

/** The digests of `wanted` that the repository has no row for in `table`. */
async function absent(
  tx: Queryable,
  table: "registry_repository_blobs" | "registry_manifests",
  repositoryId: number | undefined,
  wanted: readonly string[],
): Promise<string[]> {
  if (wanted.length === 0) return [];
  if (repositoryId === undefined) return [...new Set(wanted)];
  const rows = await tx.query<{ digest: string }>(
    `SELECT digest FROM ${table} WHERE repository_id = $1 AND digest = ANY($2::text[])`,
    [repositoryId, [...new Set(wanted)]],
  );
  const present = new Set(rows.map((row) => row.digest));
  return [...new Set(wanted)].filter((digest) => !present.has(digest));
}

interface ManifestRow {
  digest: string;
  media_type: string;
  content: Uint8Array;
}

function manifestRow(rows: ManifestRow[]): StoredManifest | undefined {
  const row = rows[0];
  return row === undefined
    ? undefined
    : { digest: row.digest, mediaType: row.media_type, content: row.content };
}
