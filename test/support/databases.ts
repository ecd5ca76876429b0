import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Db } from "../../server/storage/db.js";
import { PgDb } from "../../server/storage/pg-driver.js";
import { PgliteDb } from "../../server/storage/pglite-driver.js";
import { describeWithPeer, postgresTestUrl } from "./peers.js";

export interface DatabaseFactory {
  readonly driver: "pglite" | "postgres";
  /** A new, empty database for one test or suite; `dispose` drops it. */
  create(): Promise<{ db: Db; url?: string; dispose(): Promise<void> }>;
}

const pglite: DatabaseFactory = {
  driver: "pglite",
  async create() {
    const db = await PgliteDb.open();
    return { db, dispose: () => db.close() };
  },
};

function postgres(adminUrl: string): DatabaseFactory {
  return {
    driver: "postgres",
    async create() {
      const name = `trustdock_test_${randomBytes(6).toString("hex")}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const db = new PgDb(url.toString());
      return {
        db,
        url: url.toString(),
        async dispose() {
          await db.close();
          const cleanup = new pg.Client({ connectionString: adminUrl });
          await cleanup.connect();
          await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await cleanup.end();
        },
      };
    },
  };
}

/** Runs the same suite on the embedded store and on a real PostgreSQL server (the production store). */
export function describeOnEachDatabase(name: string, suite: (factory: DatabaseFactory) => void): void {
  describe(`${name} [pglite]`, () => suite(pglite));
  const url = postgresTestUrl();
  describeWithPeer("PostgreSQL (TRUSTDOCK_TEST_DATABASE_URL)", url !== undefined, `${name} [postgres]`, () =>
    suite(postgres(url ?? "")),
  );
}
