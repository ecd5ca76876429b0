import { PGlite, type Transaction } from "@electric-sql/pglite";
import { lockDataDir } from "./data-dir-lock.js";
import type { Db, Queryable, SqlParam } from "./db.js";

/** The embedded store: one PGlite database in a folder; it has one connection, so transactions queue. */
export class PgliteDb implements Db {
  readonly driver = "pglite" as const;

  private constructor(
    private readonly pglite: PGlite,
    private readonly release?: () => void,
  ) {}

  /** `dataDir` undefined keeps the database in memory (tests); a folder is this process's alone while open. */
  static async open(dataDir?: string): Promise<PgliteDb> {
    if (dataDir === undefined) {
      const pglite = new PGlite();
      await pglite.waitReady;
      return new PgliteDb(pglite);
    }
    const release = lockDataDir(dataDir);
    try {
      const pglite = new PGlite(dataDir);
      await pglite.waitReady;
      return new PgliteDb(pglite, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  async query<Row>(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    const result = await this.pglite.query<Row>(sql, params as unknown[]);
    return result.rows;
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.pglite.transaction(async (t: Transaction) =>
      work({
        query: async <Row>(sql: string, params: readonly SqlParam[] = []) =>
          (await t.query<Row>(sql, params as unknown[])).rows,
      }),
    );
  }

  async exec(sql: string): Promise<void> {
    await this.pglite.exec(sql);
  }

  // One process owns an embedded database, so no message can be missed and onGap is never needed.
  async listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>> {
    const stop = await this.pglite.listen(channel, onMessage);
    return () => stop();
  }

  async close(): Promise<void> {
    try {
      await this.pglite.close();
    } finally {
      this.release?.();
    }
  }
}
