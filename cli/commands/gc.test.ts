import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateServer } from "../../server/app.js";
import { BlobStore } from "../../server/storage/blob-store.js";
import { openDatabase } from "../../server/storage/open.js";
import { readServiceConfig } from "../config.js";
import { formatReport, parseDuration, runGc } from "./gc.js";

describe("trustdock gc", () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "trustdock-gc-"));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));
  const config = () => readServiceConfig({ TRUSTDOCK_DATA_DIR: dataDir });

  /** An embedded database as a stopped server left it, holding one blob that no manifest names. */
  async function stoppedServerWithUnnamedBlob(): Promise<string> {
    const bytes = Buffer.from("a blob no manifest names");
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const db = await openDatabase({ dataDir, name: "server" });
    await migrateServer(db);
    await db.query("INSERT INTO registry_blobs (digest, size) VALUES ($1, $2)", [digest, bytes.length]);
    await db.close();
    const blobs = await BlobStore.open(join(dataDir, "blobs"));
    await blobs.createUpload("gc-test");
    writeFileSync(blobs.uploadPath("gc-test"), bytes);
    await blobs.commitUpload("gc-test", digest, bytes.length);
    return digest;
  }

  it("reads durations as the --grace option takes them", () => {
    expect([parseDuration("0s"), parseDuration("30m"), parseDuration("2h"), parseDuration("1.5d")]).toEqual([
      0, 1_800_000, 7_200_000, 129_600_000,
    ]);
    expect(parseDuration("250ms")).toBe(250);
    for (const wrong of ["", "2", "h", "-1h", "2 weeks"])
      expect(() => parseDuration(wrong)).toThrow("is not a duration");
  });

  it("lists in a dry run, then removes, what nothing names, on the embedded database of a stopped server", async () => {
    const digest = await stoppedServerWithUnnamedBlob();
    const blobFile = (await BlobStore.open(join(dataDir, "blobs"))).blobPath(digest);

    const dry = await runGc(config(), { graceMs: 0, dryRun: true });
    expect(formatReport(dry)).toBe(
      [
        `would remove blob ${digest} (24 bytes)`,
        "would remove: 1 blob (24 bytes), 0 uploads (0 bytes), 0 stray files (0 bytes)",
      ].join("\n"),
    );
    expect(existsSync(blobFile)).toBe(true);

    // Within the default grace window it stays; with none it goes.
    expect((await runGc(config(), { graceMs: parseDuration("2h"), dryRun: false })).blobs).toEqual([]);
    const report = await runGc(config(), { graceMs: 0, dryRun: false });
    expect(formatReport(report).split("\n").at(-1)).toBe(
      "removed: 1 blob (24 bytes), 0 uploads (0 bytes), 0 stray files (0 bytes)",
    );
    expect(existsSync(blobFile)).toBe(false);
  });

  it("says that a running server holds the embedded database, and leaves it alone", async () => {
    await stoppedServerWithUnnamedBlob();
    const running = await openDatabase({ dataDir, name: "server" });
    try {
      await expect(runGc(config(), { graceMs: 0, dryRun: false })).rejects.toThrow(
        `in use by process ${process.pid} (a running trustdock server?)`,
      );
      expect(await running.query("SELECT digest FROM registry_blobs")).toHaveLength(1);
    } finally {
      await running.close();
    }
  });

  it("says so when there is no database to collect in", async () => {
    await expect(runGc(config(), { graceMs: 0, dryRun: true })).rejects.toThrow(
      `there is no embedded database in ${dataDir}`,
    );
    expect(existsSync(join(dataDir, "server"))).toBe(false);
  });
});
