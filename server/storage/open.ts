import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Db } from "./db.js";
import { PgDb } from "./pg-driver.js";
import { PgliteDb } from "./pglite-driver.js";

/** PostgreSQL when a URL is given (production), else the embedded PGlite under `dataDir/<name>`. */
export async function openDatabase(opts: { url?: string; dataDir?: string; name: string }): Promise<Db> {
  if (opts.url) return new PgDb(opts.url);
  if (opts.dataDir === undefined) return PgliteDb.open();
  const dir = join(opts.dataDir, opts.name);
  mkdirSync(dir, { recursive: true });
  return PgliteDb.open(dir);
}
