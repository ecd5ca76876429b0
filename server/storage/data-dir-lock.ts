import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";

/** Another living process has the embedded database open; opening it too would corrupt it. */
export class DataDirInUseError extends Error {
  override readonly name = "DataDirInUseError";
}

/**
 * Claims `dir` for this process with `<dir>.lock` holding its pid; resolves with the release. PGlite itself
 * does not stop a second process from opening the same folder (the two would overwrite each other's
 * pages), so every embedded database is opened through this. A lock left by a process that died is taken
 * over.
 */
export function lockDataDir(dir: string): () => void {
  const path = `${dir}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, "wx");
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as { code?: unknown }).code !== "EEXIST" || attempt > 0) throw err;
    }
    const holder = Number(readFileSync(path, "utf8").trim());
    if (isRunning(holder))
      throw new DataDirInUseError(
        `the embedded database in ${dir} is in use by process ${holder} (a running trustdock server?): ` +
          "it can be opened by one process at a time; stop that process first, or use PostgreSQL " +
          "(TRUSTDOCK_DATABASE_URL) to share the database; if no such process runs, remove " +
          path,
      );
    rmSync(path, { force: true });
  }
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as { code?: unknown }).code === "EPERM";
  }
  // A killed process that its parent has not reaped yet still answers signal 0.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}
