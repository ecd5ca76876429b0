import type { Db } from "./db.js";

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * Applies, in order and each in its own transaction, the migrations newer than the database's version.
 * `scope` keeps the server's and the signer's schemas apart when they share one database.
 */
export async function migrate(db: Db, scope: string, migrations: readonly Migration[]): Promise<void> {
  await db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (scope text NOT NULL, version integer NOT NULL, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (scope, version))",
  );
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    await db.transaction(async (tx) => {
      // Two processes starting on one database: the lock makes the second wait, then see the row and skip.
      await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`migrate:${scope}`]);
      const done = await tx.query("SELECT 1 FROM schema_migrations WHERE scope = $1 AND version = $2", [
        scope,
        migration.version,
      ]);
      if (done.length > 0) return;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query("INSERT INTO schema_migrations (scope, version, name) VALUES ($1, $2, $3)", [
        scope,
        migration.version,
        migration.name,
      ]);
    });
  }
}

// Statements end at ';', except inside a $$-quoted body (a trigger function's), which is kept whole.
function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = "";
  sql.split("$$").forEach((part, i) => {
    if (i % 2 === 1) {
      current += `$$${part}$$`;
      return;
    }
    const [first = "", ...rest] = part.split(";");
    current += first;
    for (const next of rest) {
      statements.push(current);
      current = next;
    }
  });
  statements.push(current);
  return statements.map((s) => s.trim()).filter((s) => s.length > 0);
}
