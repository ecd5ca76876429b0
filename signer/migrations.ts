import type { Migration } from "../server/storage/migrations.js";

export const SIGNER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "signer_keys",
    sql: `CREATE TABLE signer_keys (
      key_id text PRIMARY KEY,
      algorithm text NOT NULL,
      public_key text NOT NULL,
      encrypted_private_key bytea NOT NULL,
      passphrase_alias text NOT NULL,
      gun text,
      role text,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
  },
];
