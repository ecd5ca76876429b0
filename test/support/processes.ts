import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { TRUSTDOCK_BIN } from "./cli.js";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** `trustdock up` in its own process group, so a test can kill -9 server and signer together. */
export function spawnTrustdockUp(env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [TRUSTDOCK_BIN, "up"], {
    env: { ...process.env, ...env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): void {
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `${what} did not happen within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ""}`,
  );
}
