import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "./shared.js";

const run = promisify(execFile);

/** The built `trustdock` command as a user runs it (npm test builds it first). */
export const TRUSTDOCK_BIN = join(repoRoot, "dist", "cli", "main.js");

export async function trustdock(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = run(process.execPath, [TRUSTDOCK_BIN, ...args], {
    env: { ...process.env, ...opts.env },
    timeout: opts.timeoutMs ?? 30_000,
  });
  if (opts.input !== undefined) {
    child.child.stdin?.end(opts.input);
  }
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
