import type { Queryable } from "../storage/db.js";
import type { Migration } from "../storage/migrations.js";

/**
 * How often and when last each manifest and each tag was pulled, as Harbor shows a repository's
 * `pull_count` and the `pull_time` of artifacts and tags. Its own migration scope, so it grows apart
 * from the registry's tables. Rows are keyed by the repository's name and a reference (a digest, or a
 * tag: tags cannot hold a `:`), written in batches by whoever buffers pulls.
 */
export const pullStatsMigrations: Migration[] = [
  {
    version: 1,
    name: "pull counts and times per repository and reference",
    sql: `
      CREATE TABLE registry_pulls (
        repository text COLLATE "C" NOT NULL,
        reference text COLLATE "C" NOT NULL,
        pull_count bigint NOT NULL,
        pulled_at timestamptz NOT NULL,
        PRIMARY KEY (repository, reference)
      )
    `,
  },
];

export interface Pull {
  readonly repository: string;
  /** The manifest served. */
  readonly digest: string;
  /** The tag it was asked for by, if it was. */
  readonly tag?: string;
  readonly at: Date;
}

export class PullStats {
  constructor(private readonly db: Queryable) {}

  /** Adds the pulls to the counts; every pull counts once for its digest and once for its tag, if any. */
  async record(pulls: readonly Pull[]): Promise<void> {
    const counts = new Map<string, { repository: string; reference: string; count: number; at: Date }>();
    const add = (repository: string, reference: string, at: Date) => {
      const key = `${repository}\n${reference}`;
      const known = counts.get(key);
      if (!known) counts.set(key, { repository, reference, count: 1, at });
      else {
        known.count += 1;
        if (at > known.at) known.at = at;
      }
    };
    for (const pull of pulls) {
      add(pull.repository, pull.digest, pull.at);
      if (pull.tag !== undefined) add(pull.repository, pull.tag, pull.at);
    }
    if (counts.size === 0) return;
    // One row per key (an upsert may touch a row once), in key order so that concurrent writers lock
    // rows in the same order.
    const rows = [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
    await this.db.query(
      `INSERT INTO registry_pulls (repository, reference, pull_count, pulled_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[])
       ON CONFLICT (repository, reference) DO UPDATE
         SET pull_count = registry_pulls.pull_count + EXCLUDED.pull_count,
             pulled_at = greatest(registry_pulls.pulled_at, EXCLUDED.pulled_at)`,
      [
        rows.map((row) => row.repository),
        rows.map((row) => row.reference),
        rows.map((row) => String(row.count)),
        rows.map((row) => row.at.toISOString()),
      ],
    );
  }

  /** Forgets the pulls of `repository`, when it is deleted. */
  async forget(repository: string): Promise<void> {
    await this.db.query("DELETE FROM registry_pulls WHERE repository = $1", [repository]);
  }
}
