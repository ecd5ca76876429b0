import type { Migration } from "../storage/migrations.js";

// Names and tags sort byte-wise ("C"), as the spec's lexical order for tag lists and the catalog wants.
export const registryMigrations: Migration[] = [
  {
    version: 1,
    name: "repositories, blobs and their links, manifests, tags, upload sessions",
    sql: `
      CREATE TABLE registry_repositories (
        id bigserial PRIMARY KEY,
        name text COLLATE "C" NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE registry_blobs (
        digest text PRIMARY KEY,
        size bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE registry_repository_blobs (
        repository_id bigint NOT NULL REFERENCES registry_repositories (id) ON DELETE CASCADE,
        digest text NOT NULL REFERENCES registry_blobs (digest),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (repository_id, digest)
      );
      CREATE TABLE registry_manifests (
        repository_id bigint NOT NULL REFERENCES registry_repositories (id) ON DELETE CASCADE,
        digest text NOT NULL,
        media_type text NOT NULL,
        content bytea NOT NULL,
        subject_digest text,
        artifact_type text,
        annotations text,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (repository_id, digest)
      );
      CREATE INDEX registry_manifests_subject ON registry_manifests (repository_id, subject_digest)
        WHERE subject_digest IS NOT NULL;
      CREATE TABLE registry_tags (
        repository_id bigint NOT NULL,
        name text COLLATE "C" NOT NULL,
        digest text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (repository_id, name),
        FOREIGN KEY (repository_id, digest) REFERENCES registry_manifests (repository_id, digest) ON DELETE CASCADE
      );
      CREATE INDEX registry_tags_digest ON registry_tags (repository_id, digest);
      CREATE TABLE registry_uploads (
        id text PRIMARY KEY,
        repository text NOT NULL,
        size bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )
    `,
  },
];
