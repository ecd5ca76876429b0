import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import {
  type CollectionReport,
  GarbageCollector,
  type Removed,
} from "../../server/registry/garbage-collector.js";
import { BlobStore } from "../../server/storage/blob-store.js";
import { openDatabase } from "../../server/storage/open.js";
import { readServiceConfig, type ServiceConfig } from "../config.js";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `0s`, `90s`, `30m`, `2h`, `1.5d` in milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  const unit = match?.[2] === undefined ? undefined : UNITS[match[2]];
  if (!match?.[1] || unit === undefined) throw new Error(`"${text}" is not a duration such as 0s, 30m or 2h`);
  return Math.round(Number(match[1]) * unit);
}

/**
 * One collection over the database and blob folder that `trustdock server` uses with the same
 * environment: PostgreSQL at TRUSTDOCK_DATABASE_URL, else the embedded database in TRUSTDOCK_DATA_DIR
 * (which a running server holds, so it must be stopped first), and $TRUSTDOCK_DATA_DIR/blobs.
 */
export async function runGc(
  config: ServiceConfig,
  opts: { graceMs: number; dryRun: boolean },
): Promise<CollectionReport> {
  if (!config.databaseUrl && !existsSync(join(config.dataDir, "server")))
    throw new Error(`there is no embedded database in ${config.dataDir}: nothing to collect`);
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, name: "server" });
  try {
    const [tables] = await db.query<{ found: string | null }>(
      "SELECT to_regclass('registry_blobs')::text AS found",
    );
    if (!tables?.found)
      throw new Error("the database has no registry yet (trustdock server creates it on its first start)");
    const blobs = await BlobStore.open(join(config.dataDir, "blobs"));
    return await new GarbageCollector(db, blobs).collect(opts);
  } finally {
    await db.close();
  }
}

/** What a collection removed (or would), one line each, then the totals. */
export function formatReport(report: CollectionReport): string {
  const verb = report.dryRun ? "would remove" : "removed";
  const groups: Array<[string, readonly Removed[]]> = [
    ["blob", report.blobs],
    ["upload", report.uploads],
    ["stray file", report.strayFiles],
  ];
  const lines = groups.flatMap(([kind, items]) =>
    items.map((item) => `${verb} ${kind} ${item.name} (${item.bytes} bytes)`),
  );
  const totals = groups.map(([kind, items]) => {
    const bytes = items.reduce((sum, item) => sum + item.bytes, 0);
    return `${items.length} ${kind}${items.length === 1 ? "" : "s"} (${bytes} bytes)`;
  });
  lines.push(`${report.dryRun ? "would remove" : "removed"}: ${totals.join(", ")}`);
  return lines.join("\n");
}

export function registerGc(program: Command): void {
  program
    .command("gc")
    .description(
      "remove registry blobs that no manifest names, abandoned uploads and stray files; " +
        "safe while servers on the same PostgreSQL take pushes",
    )
    .option("--grace <duration>", "keep whatever was pushed within this long (0s, 30m, 2h)", "2h")
    .option("--dry-run", "list what would be removed, remove nothing", false)
    .action(async (opts: { grace: string; dryRun: boolean }) => {
      const report = await runGc(readServiceConfig(), {
        graceMs: parseDuration(opts.grace),
        dryRun: opts.dryRun,
      });
      console.log(formatReport(report));
    });
}
