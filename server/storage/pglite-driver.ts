import { PGlite, type Transaction } from "@electric-sql/pglite";
import type { Db, Queryable, SqlParam } from "./db.js";

/** The embedded store: one PGlite database in a folder; it has one connection, so transactions queue. */
export class PgliteDb implements Db {
  readonly driver = "pglite" as const;

  private constructor(private readonly pglite: PGlite) {}

  /** `dataDir` undefined keeps the database in memory (tests). */
  static async open(dataDir?: string): Promise<PgliteDb> {
    const pglite = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
    await pglite.waitReady;
    return new PgliteDb(pglite);
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
    await this.pglite.close();
  }
}
