import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataDirInUseError, lockDataDir } from "./data-dir-lock.js";
import { PgliteDb } from "./pglite-driver.js";

describe("embedded database folder lock", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "trustdock-lock-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("refuses a second opening of a folder that a living process holds, naming the holder", async () => {
    const dir = join(root, "server");
    const db = await PgliteDb.open(dir);
    try {
      await expect(PgliteDb.open(dir)).rejects.toThrow(DataDirInUseError);
      await expect(PgliteDb.open(dir)).rejects.toThrow(`in use by process ${process.pid}`);
    } finally {
      await db.close();
    }
    // Closed: the folder is free again, and its data is still there.
    const again = await PgliteDb.open(dir);
    await again.close();
    expect(existsSync(`${dir}.lock`)).toBe(false);
  });

  it("takes over the lock of a process that died without releasing it", () => {
    const dir = join(root, "server");
    const dead = spawnSync(process.execPath, ["-e", "process.exit(0)"]).pid;
    writeFileSync(`${dir}.lock`, String(dead));
    const release = lockDataDir(dir);
    release();
    expect(existsSync(`${dir}.lock`)).toBe(false);
  });
});
