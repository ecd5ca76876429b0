import type {
  ArtifactDeletion,
  ArtifactReference,
  CatalogAccessory,
  CatalogArtifact,
  CatalogProject,
  CatalogRepository,
  RepositoryCatalog,
} from "../projects/catalog.js";
import type { Page, PageRequest } from "../projects/page.js";
import type { Db, Queryable } from "../storage/db.js";
import { DOCKER_MANIFEST_LIST, OCI_INDEX } from "./manifest-format.js";
import { PullStats } from "./pull-stats.js";

// What the Harbor API lists of the registry, as Harbor sees its contents: an artifact is a manifest that
// is neither an accessory of another (a referrer with a `subject`, a cosign `sha256-<hex>.sig` signature)
// nor an entry of an index; an index is one artifact with its entries inside.

/** cosign's tag for the signatures of `sha256:<hex>`. */
const COSIGN_SIGNATURE_TAG = "^sha256-[0-9a-f]{64}\\.sig$";
const cosignSignatureTag = (digest: string) => `${digest.replace(":", "-")}.sig`;

/** Harbor's accessory types by the artifact type of a referrer (its own, or its config's media type). */
const ACCESSORY_TYPES: ReadonlyArray<readonly [(artifactType: string) => boolean, string]> = [
  [(t) => t === "application/vnd.dev.cosign.artifact.sig.v1+json", "signature.cosign"],
  [(t) => t.startsWith("application/vnd.dev.sigstore.bundle"), "signature.cosign"],
  [(t) => t === "application/vnd.cncf.notary.signature", "signature.notation"],
  [(t) => t === "application/vnd.goharbor.harbor.sbom.v1", "harbor.sbom"],
];

/** Harbor's artifact `type` by the artifact type (an image's config media type, or `artifactType`). */
function artifactKind(manifestMediaType: string, artifactType: string | null): string {
  if (manifestMediaType === OCI_INDEX || manifestMediaType === DOCKER_MANIFEST_LIST) return "IMAGE";
  switch (artifactType) {
    case "application/vnd.oci.image.config.v1+json":
    case "application/vnd.docker.container.image.v1+json":
      return "IMAGE";
    case "application/vnd.cncf.helm.config.v1+json":
      return "CHART";
    case "application/vnd.cnab.manifest.v1":
      return "CNAB";
    default:
      return "UNKNOWN";
  }
}

interface ManifestDocument {
  config?: { mediaType?: string; size?: number };
  layers?: Array<{ size?: number }>;
  manifests?: Array<{ digest?: string; size?: number }>;
}

function documentOf(content: Uint8Array): ManifestDocument {
  return JSON.parse(Buffer.from(content).toString("utf8")) as ManifestDocument;
}

/**
 * Harbor's size of an artifact: its manifest and the blobs it names; an index adds its entries' sizes
 * (`entrySize` of a stored entry, else the descriptor's).
 */
function artifactSize(content: Uint8Array, entrySize: (digest: string) => number | undefined): number {
  const document = documentOf(content);
  const blobs = [document.config, ...(document.layers ?? [])].reduce((sum, d) => sum + (d?.size ?? 0), 0);
  const entries = (document.manifests ?? []).reduce(
    (sum, d) => sum + ((d.digest !== undefined ? entrySize(d.digest) : undefined) ?? d.size ?? 0),
    0,
  );
  return content.byteLength + blobs + entries;
}

/**
 * The artifacts of the repositories `repos` selects (a CTE of `id`), with the CTEs it needs: entries of
 * indexes (`children`) and cosign signatures by tag (`signatures`). `$1` and `$2` are the index media types.
 */
function artifactsCte(repos: string): string {
  return `
    WITH repos AS (${repos}),
    children AS (
      SELECT DISTINCT i.repository_id, entry.value ->> 'digest' AS digest
      FROM registry_manifests i JOIN repos r ON r.id = i.repository_id
      CROSS JOIN LATERAL json_array_elements(convert_from(i.content, 'UTF8')::json -> 'manifests') AS entry (value)
      WHERE i.media_type IN ($1, $2)
    ),
    signatures AS (
      SELECT DISTINCT t.repository_id, t.digest FROM registry_tags t JOIN repos r ON r.id = t.repository_id
      WHERE t.name ~ '${COSIGN_SIGNATURE_TAG}'
    ),
    artifacts AS (
      SELECT m.repository_id, m.digest, m.media_type, m.artifact_type, m.content,
        greatest(m.created_at, (SELECT max(t.updated_at) FROM registry_tags t
                                WHERE t.repository_id = m.repository_id AND t.digest = m.digest)) AS pushed_at
      FROM registry_manifests m JOIN repos r ON r.id = m.repository_id
      WHERE m.subject_digest IS NULL
        AND NOT EXISTS (SELECT 1 FROM children c WHERE c.repository_id = m.repository_id AND c.digest = m.digest)
        AND NOT EXISTS (SELECT 1 FROM signatures s WHERE s.repository_id = m.repository_id AND s.digest = m.digest)
    )`;
}

const INDEX_TYPES = [OCI_INDEX, DOCKER_MANIFEST_LIST] as const;

/** Names in a project sort between `<project>/` and `<project>0` (`0` follows `/` byte-wise). */
const projectRange = (project: CatalogProject) => [`${project.name}/`, `${project.name}0`] as const;

const HAS_MANIFESTS =
  "EXISTS (SELECT 1 FROM registry_manifests m WHERE m.repository_id = registry_repositories.id)";

interface RepositoryRow {
  id: string | number;
  name: string;
  created_at: Date;
  updated_at: Date | null;
  artifact_count: string | number;
  pull_count: string | number;
}

interface ArtifactRow {
  digest: string;
  media_type: string;
  artifact_type: string | null;
  content: Uint8Array;
  pushed_at: Date;
}

/** The registry's repositories and artifacts as the Harbor API lists them, over the registry's tables. */
export class RegistryRepositoryCatalog implements RepositoryCatalog {
  constructor(private readonly db: Db) {}

  async listRepositories(project: CatalogProject, page: PageRequest): Promise<Page<CatalogRepository>> {
    const [from, to] = projectRange(project);
    const [count] = await this.db.query<{ total: number }>(
      `SELECT count(*)::integer AS total FROM registry_repositories WHERE name >= $1 AND name < $2
         AND ${HAS_MANIFESTS}`,
      [from, to],
    );
    const items = await this.repositories("name >= $3 AND name < $4", [from, to], page);
    return { total: count?.total ?? 0, items };
  }

  async repository(project: CatalogProject, repository: string): Promise<CatalogRepository | undefined> {
    if (!repository.startsWith(`${project.name}/`)) return undefined;
    const [found] = await this.repositories("name = $3", [repository], { offset: 0, limit: 1 });
    return found;
  }

  async artifact(
    project: CatalogProject,
    repository: string,
    reference: ArtifactReference,
  ): Promise<CatalogArtifact | undefined> {
    if (!repository.startsWith(`${project.name}/`)) return undefined;
    const id = await this.repositoryId(this.db, repository);
    if (id === undefined) return undefined;
    // Any manifest, accessories and index entries too, as Harbor finds an artifact by reference.
    const rows = await this.db.query<ArtifactRow>(
      `SELECT m.digest, m.media_type, m.artifact_type, m.content,
         greatest(m.created_at, (SELECT max(t.updated_at) FROM registry_tags t
                                 WHERE t.repository_id = m.repository_id AND t.digest = m.digest)) AS pushed_at
       FROM registry_manifests m
       WHERE m.repository_id = $1 AND m.digest = ${
         "digest" in reference
           ? "$2"
           : "(SELECT digest FROM registry_tags WHERE repository_id = $1 AND name = $2)"
       }`,
      [id, "digest" in reference ? reference.digest : reference.tag],
    );
    const [artifact] = await this.describe(id, repository, rows);
    return artifact;
  }

  /** The repositories holding manifests that `where` (over `$3`...) selects, sorted by name. */
  private async repositories(
    where: string,
    params: readonly string[],
    page: PageRequest,
  ): Promise<CatalogRepository[]> {
    const limit = `$${3 + params.length}`;
    const offset = `$${4 + params.length}`;
    const rows = await this.db.query<RepositoryRow>(
      `${artifactsCte(`SELECT id, name, created_at FROM registry_repositories WHERE ${where} AND ${HAS_MANIFESTS}
                       ORDER BY name LIMIT ${limit} OFFSET ${offset}`)}
       SELECT r.id, r.name, r.created_at,
         (SELECT max(a.pushed_at) FROM artifacts a WHERE a.repository_id = r.id) AS updated_at,
         (SELECT count(*) FROM artifacts a WHERE a.repository_id = r.id) AS artifact_count,
         (SELECT coalesce(sum(p.pull_count), 0) FROM registry_pulls p
          WHERE p.repository = r.name AND p.reference LIKE '%:%') AS pull_count
       FROM repos r ORDER BY r.name`,
      [...INDEX_TYPES, ...params, page.limit, page.offset],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      name: row.name,
      artifactCount: Number(row.artifact_count),
      pullCount: Number(row.pull_count),
      createdAt: row.created_at,
      updatedAt: row.updated_at && row.updated_at > row.created_at ? row.updated_at : row.created_at,
    }));
  }

  async listArtifacts(
    project: CatalogProject,
    repository: string,
    page: PageRequest,
  ): Promise<Page<CatalogArtifact> | undefined> {
    if (!repository.startsWith(`${project.name}/`)) return undefined;
    const id = await this.repositoryId(this.db, repository);
    if (id === undefined) return undefined;
    const one = `SELECT id FROM registry_repositories WHERE id = $3`;
    const [count] = await this.db.query<{ total: number }>(
      `${artifactsCte(one)} SELECT count(*)::integer AS total FROM artifacts`,
      [...INDEX_TYPES, id],
    );
    const rows = await this.db.query<ArtifactRow>(
      `${artifactsCte(one)}
       SELECT digest, media_type, artifact_type, content, pushed_at FROM artifacts
       ORDER BY pushed_at DESC, digest LIMIT $4 OFFSET $5`,
      [...INDEX_TYPES, id, page.limit, page.offset],
    );
    return { total: count?.total ?? 0, items: await this.describe(id, repository, rows) };
  }

  async deleteRepository(project: CatalogProject, repository: string): Promise<boolean> {
    if (!repository.startsWith(`${project.name}/`)) return false;
    return this.db.transaction(async (tx) => {
      // Manifests, tags and blob links go with the row; blob files stay for garbage collection.
      const deleted = await tx.query("DELETE FROM registry_repositories WHERE name = $1 RETURNING id", [
        repository,
      ]);
      if (deleted.length === 0) return false;
      await new PullStats(tx).forget(repository);
      return true;
    });
  }

  async deleteArtifact(
    project: CatalogProject,
    repository: string,
    reference: ArtifactReference,
  ): Promise<ArtifactDeletion> {
    if (!repository.startsWith(`${project.name}/`)) return { outcome: "not-found" };
    return this.db.transaction(async (tx) => {
      const id = await this.repositoryId(tx, repository);
      if (id === undefined) return { outcome: "not-found" };
      const [target] = await tx.query<{ digest: string }>(
        "digest" in reference
          ? "SELECT digest FROM registry_manifests WHERE repository_id = $1 AND digest = $2"
          : "SELECT digest FROM registry_tags WHERE repository_id = $1 AND name = $2",
        [id, "digest" in reference ? reference.digest : reference.tag],
      );
      if (!target) return { outcome: "not-found" };
      const holders = await indexesHolding(tx, id, [target.digest]);
      const holder = holders.find((h) => h.index_digest !== target.digest);
      if (holder) return { outcome: "referenced", digest: target.digest, by: holder.index_digest };

      // The artifact, its accessories (and theirs), and an index's entries no other index holds.
      const doomed = new Set([target.digest]);
      for (let frontier = [target.digest]; frontier.length > 0; ) {
        const next = [
          ...(await accessoriesOf(tx, id, frontier)).map((a) => a.digest),
          ...(await entriesOf(tx, id, frontier)),
        ].filter((digest) => !doomed.has(digest));
        const keep = new Set(
          (await indexesHolding(tx, id, next)).filter((h) => !doomed.has(h.index_digest)).map((h) => h.entry),
        );
        frontier = [...new Set(next)].filter((digest) => !keep.has(digest));
        for (const digest of frontier) doomed.add(digest);
      }
      // Tags go with their manifests. Pull counts stay: a repository's pull_count counts every pull made
      // in it, as Harbor's does, until the repository itself is deleted.
      const digests = [...doomed];
      await tx.query("DELETE FROM registry_manifests WHERE repository_id = $1 AND digest = ANY($2::text[])", [
        id,
        digests,
      ]);
      return { outcome: "deleted", digest: target.digest, accessories: digests.slice(1) };
    });
  }

  /** The repository's id, if it holds any manifest. */
  private async repositoryId(db: Queryable, repository: string): Promise<number | undefined> {
    const [row] = await db.query<{ id: string | number }>(
      `SELECT id FROM registry_repositories WHERE name = $1 AND ${HAS_MANIFESTS}`,
      [repository],
    );
    return row === undefined ? undefined : Number(row.id);
  }

  /** Tags, pull times, sizes and accessories of one page of artifacts. */
  private async describe(id: number, repository: string, rows: ArtifactRow[]): Promise<CatalogArtifact[]> {
    const digests = rows.map((row) => row.digest);
    const [tags, accessories, entrySizes] = await Promise.all([
      this.db.query<{ name: string; digest: string; updated_at: Date }>(
        `SELECT name, digest, updated_at FROM registry_tags
         WHERE repository_id = $1 AND digest = ANY($2::text[]) AND name !~ '${COSIGN_SIGNATURE_TAG}'
         ORDER BY name`,
        [id, digests],
      ),
      accessoriesOf(this.db, id, digests),
      this.entrySizes(id, rows),
    ]);
    const pulls = await this.db.query<{ reference: string; pulled_at: Date }>(
      "SELECT reference, pulled_at FROM registry_pulls WHERE repository = $1 AND reference = ANY($2::text[])",
      [repository, [...digests, ...tags.map((tag) => tag.name)]],
    );
    const pulledAt = new Map(pulls.map((pull) => [pull.reference, pull.pulled_at]));
    const when = (reference: string) => {
      const at = pulledAt.get(reference);
      return at === undefined ? {} : { pulledAt: at };
    };
    return rows.map((row) => {
      const document = documentOf(row.content);
      const index = row.media_type === OCI_INDEX || row.media_type === DOCKER_MANIFEST_LIST;
      return {
        digest: row.digest,
        type: artifactKind(row.media_type, row.artifact_type),
        mediaType: index ? row.media_type : (document.config?.mediaType ?? row.media_type),
        manifestMediaType: row.media_type,
        size: artifactSize(row.content, (digest) => entrySizes.get(digest)),
        pushedAt: row.pushed_at,
        ...when(row.digest),
        tags: tags
          .filter((tag) => tag.digest === row.digest)
          .map((tag) => ({ name: tag.name, pushedAt: tag.updated_at, ...when(tag.name) })),
        accessories: accessories
          .filter((accessory) => accessory.subject === row.digest)
          .map(({ subject: _, ...accessory }) => accessory),
      };
    });
  }

  /** The sizes of the stored entries of the indexes among `rows`. */
  private async entrySizes(id: number, rows: ArtifactRow[]): Promise<Map<string, number>> {
    const wanted = rows.flatMap((row) =>
      (documentOf(row.content).manifests ?? []).flatMap((d) => (d.digest === undefined ? [] : [d.digest])),
    );
    if (wanted.length === 0) return new Map();
    const entries = await this.db.query<{ digest: string; content: Uint8Array }>(
      "SELECT digest, content FROM registry_manifests WHERE repository_id = $1 AND digest = ANY($2::text[])",
      [id, [...new Set(wanted)]],
    );
    return new Map(entries.map((entry) => [entry.digest, artifactSize(entry.content, () => undefined)]));
  }
}

/** The accessories of the manifests `subjects`: referrers with a subject, cosign signatures by tag. */
async function accessoriesOf(
  db: Queryable,
  id: number,
  subjects: readonly string[],
): Promise<Array<CatalogAccessory & { subject: string }>> {
  if (subjects.length === 0) return [];
  const bySignatureTag = new Map(subjects.map((digest) => [cosignSignatureTag(digest), digest]));
  const rows = await db.query<{
    digest: string;
    subject_digest: string | null;
    tag: string | null;
    artifact_type: string | null;
    content: Uint8Array;
    created_at: Date;
  }>(
    `SELECT m.digest, m.subject_digest, NULL AS tag, m.artifact_type, m.content, m.created_at
     FROM registry_manifests m WHERE m.repository_id = $1 AND m.subject_digest = ANY($2::text[])
     UNION ALL
     SELECT m.digest, NULL, t.name, m.artifact_type, m.content, m.created_at
     FROM registry_tags t JOIN registry_manifests m ON m.repository_id = t.repository_id AND m.digest = t.digest
     WHERE t.repository_id = $1 AND t.name = ANY($3::text[])
     ORDER BY created_at, digest`,
    [id, [...subjects], [...bySignatureTag.keys()]],
  );
  return rows.map((row) => {
    const artifactType = row.artifact_type ?? "";
    const type =
      row.tag !== null
        ? "signature.cosign"
        : (ACCESSORY_TYPES.find(([matches]) => matches(artifactType))?.[1] ?? "subject.accessory");
    return {
      subject: row.subject_digest ?? bySignatureTag.get(row.tag ?? "") ?? "",
      digest: row.digest,
      type,
      size: artifactSize(row.content, () => undefined),
      createdAt: row.created_at,
    };
  });
}

/** The entries of the indexes among `digests`. */
async function entriesOf(db: Queryable, id: number, digests: readonly string[]): Promise<string[]> {
  if (digests.length === 0) return [];
  const rows = await db.query<{ digest: string }>(
    `SELECT DISTINCT entry.value ->> 'digest' AS digest
     FROM registry_manifests i
     CROSS JOIN LATERAL json_array_elements(convert_from(i.content, 'UTF8')::json -> 'manifests') AS entry (value)
     WHERE i.repository_id = $1 AND i.digest = ANY($2::text[]) AND i.media_type IN ($3, $4)`,
    [id, [...digests], ...INDEX_TYPES],
  );
  return rows.map((row) => row.digest);
}

/** Which indexes of the repository hold which of `digests` as an entry. */
async function indexesHolding(
  db: Queryable,
  id: number,
  digests: readonly string[],
): Promise<Array<{ index_digest: string; entry: string }>> {
  if (digests.length === 0) return [];
  return db.query<{ index_digest: string; entry: string }>(
    `SELECT i.digest AS index_digest, entry.value ->> 'digest' AS entry
     FROM registry_manifests i
     CROSS JOIN LATERAL json_array_elements(convert_from(i.content, 'UTF8')::json -> 'manifests') AS entry (value)
     WHERE i.repository_id = $1 AND i.media_type IN ($2, $3) AND entry.value ->> 'digest' = ANY($4::text[])`,
    [id, ...INDEX_TYPES, [...digests]],
  );
}
