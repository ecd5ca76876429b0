import type { Migration } from "../storage/migrations.js";

/** Applied by the app with `migrate(db, "auth", authMigrations)`. */
export const authMigrations: Migration[] = [
  {
    version: 1,
    name: "users",
    sql: `CREATE TABLE users (
      id serial PRIMARY KEY,
      username text UNIQUE NOT NULL,
      password_hash text NOT NULL,
      is_admin boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
  },
  {
    version: 2,
    name: "token_signing_keys",
    // One row per purpose, so that concurrent first starts agree on a single key (see signing-key.ts).
    // The private key is kept in the clear: whoever reads this table can already rewrite `users`.
    sql: `CREATE TABLE token_signing_keys (
      name text PRIMARY KEY,
      algorithm text NOT NULL,
      private_key bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
  },
];
