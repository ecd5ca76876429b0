import type { HarborApiOptions } from "../../server/projects/api/plugin.js";
import { type AccessWorld, seedAccessWorld } from "../../server/projects/testing/access-world.js";
import { type ApiClient, startApi } from "../../server/projects/testing/api-client.js";
import type { Db } from "../../server/storage/db.js";
import type { DatabaseFactory } from "./databases.js";

/**
 * For a suite: a new database with the access world seeded, `prepare`d, and the Harbor API on it, started
 * before the suite's tests and closed after them. Its fields are set by the time the suite's own
 * `beforeAll` hooks run.
 */
export function apiForSuite(
  databases: DatabaseFactory,
  opts: {
    options?: Pick<HarborApiOptions, "catalog" | "isSigned">;
    prepare?: (db: Db) => Promise<void>;
  } = {},
): { readonly api: ApiClient; readonly world: AccessWorld; readonly db: Db } {
  const suite = {
    // set by the first beforeAll, before any test reads them
    api: undefined as unknown as ApiClient,
    world: undefined as unknown as AccessWorld,
    db: undefined as unknown as Db,
  };
  let dispose: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const created = await databases.create();
    dispose = created.dispose;
    suite.db = created.db;
    suite.world = await seedAccessWorld(created.db);
    await opts.prepare?.(created.db);
    suite.api = await startApi(created.db, opts.options);
  });
  afterAll(async () => {
    await suite.api?.close();
    await dispose?.();
  });
  return suite;
}
