import type { Migration } from "../storage/migrations.js";

export const trustMigrations: Migration[] = [
  {
    version: 1,
    name: "tuf metadata, server-held keys, changefeed",
    sql: `
      CREATE TABLE tuf_files (
        id bigserial PRIMARY KEY,
        gun text NOT NULL,
        role text NOT NULL,
        version integer NOT NULL,
        data bytea NOT NULL,
        sha256 char(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (gun, role, version)
      );
      CREATE INDEX tuf_files_checksum ON tuf_files (gun, role, sha256);
      CREATE TABLE tuf_server_keys (
        gun text NOT NULL,
        role text NOT NULL,
        key_id text NOT NULL,
        algorithm text NOT NULL,
        public_key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (gun, role, key_id)
      );
      CREATE TABLE tuf_changefeed (
        id bigserial PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now(),
        gun text NOT NULL,
        version integer NOT NULL,
        sha256 char(64),
        category text NOT NULL CHECK (category IN ('update', 'deletion'))
      );
      CREATE INDEX tuf_changefeed_gun ON tuf_changefeed (gun, id)
    `,
  },
];
