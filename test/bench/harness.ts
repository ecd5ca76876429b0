/**
 * What every bench that starts real processes needs around its measurements: its settings, the repository
 * and peers folders, the cleanup of what it started (also on SIGINT/SIGTERM and past its deadline),
 * PostgreSQL from the peers script, detached servers waited for, `trustdock up`, and the results file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { get } from "./http.js";
import {
  type CpuUse,
  cpuBetween,
  cpuSnapshot,
  freePort,
  groupMembers,
  isAlive,
  killRunning,
  run,
  runOk,
  sleep,
  stopGroup,
  tail,
  waitFor,
} from "./proc.js";
import type { WrkResult } from "./wrk.js";

// ---------------------------------------------------------------- settings and places

/** A positive whole number from the environment, `fallback` when unset or not one, never above `max`. */
export function intEnv(name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = Number(process.env[name]);
  return Math.min(Number.isInteger(v) && v > 0 ? v : fallback, max);
}

/** The repository, found upwards from this file: it runs from test/bench under tsc and from dist/test/bench. */
function findRepo(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "trustdock")
      return dir;
    dir = dirname(dir);
  }
  throw new Error("cannot find the trustdock repository above this script");
}
export const REPO = findRepo();
/** The peers' start scripts; TRUSTDOCK_SHARED names the shared folder when it is not beside the repository. */
export const PEERS = join(process.env.TRUSTDOCK_SHARED ?? resolve(REPO, "..", "shared"), "peers");
export const MAIN = join(REPO, "dist", "cli", "main.js");

export const log = (msg: string) => console.log(`[bench] ${msg}`);

// ---------------------------------------------------------------- cleanup and the run

/** What went wrong without stopping the bench; any makes it exit non-zero. */
export const errors: string[] = [];
const cleanups: Array<{ what: string; fn: () => Promise<void> }> = [];
let cleaningUp: Promise<void> | undefined;

/** Runs at the end, last registered first, whatever happened. */
export function onCleanup(what: string, fn: () => Promise<void>): void {
  cleanups.push({ what, fn });
}

function cleanup(): Promise<void> {
  cleaningUp ??= (async () => {
    killRunning(); // an interrupted wrk, curl or CLI
    for (const { what, fn } of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error(`cleanup (${what}) failed: ${(err as Error).message}`);
      }
    }
  })();
  return cleaningUp;
}

/**
 * Runs `main` and exits with its code: everything registered with `onCleanup` is stopped at the end, on
 * SIGINT/SIGTERM, and past `timeoutMs` (then the run fails). A thrown error is reported and fails the run.
 */
export async function runBench(main: () => Promise<number>, timeoutMs: number): Promise<never> {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping what the bench started`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const overall = setTimeout(() => {
    console.error(`the bench ran past ${timeoutMs / 60000} minutes: stopping`);
    void cleanup().finally(() => process.exit(2));
  }, timeoutMs);
  let code = 1;
  try {
    code = await main();
  } catch (err) {
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    errors.push(String(err));
    code = 1;
  } finally {
    await cleanup();
    clearTimeout(overall);
  }
  process.exit(code);
}

/** The errors collected, printed; the exit code they make. */
export function reportErrors(): number {
  if (errors.length === 0) return 0;
  console.error(`\n${errors.length} error(s):\n  ${errors.join("\n  ")}`);
  return 1;
}

/**
 * A new temporary folder for the run's logs and data: removed at the end, kept (and said where) with
 * BENCH_KEEP=1 or after errors, so that they can be read.
 */
export function workFolder(prefix: string, holds: string): string {
  const work = mkdtempSync(join(tmpdir(), prefix));
  onCleanup("remove temporary folder", async () => {
    if (process.env.BENCH_KEEP === "1" || errors.length > 0) log(`kept ${work} (${holds})`);
    else rmSync(work, { recursive: true, force: true });
  });
  return work;
}

// ---------------------------------------------------------------- PostgreSQL

/** PostgreSQL on `port` as postgres-up.sh starts it; stopped at the end only if this bench started it. */
export async function startPostgres(port: number): Promise<string> {
  const ready = await run("pg_isready", ["-h", "127.0.0.1", "-p", String(port)], { timeoutMs: 10_000 });
  const wasRunning = ready.code === 0;
  const r = await runOk(join(PEERS, "postgres-up.sh"), [String(port)], { timeoutMs: 120_000 });
  const url = r.stdout.trim().split("\n").pop() ?? "";
  if (!url.startsWith("postgres://")) throw new Error(`postgres-up.sh printed no URL: ${r.stdout}`);
  if (!wasRunning) {
    log(`started PostgreSQL at ${url}; it will be stopped at the end`);
    onCleanup("stop PostgreSQL", async () => {
      // The same binaries and data folder postgres-up.sh uses (its defaults for this port).
      const script = `BIN=$(dirname "$(command -v initdb 2>/dev/null || echo /usr/lib/postgresql/15/bin/initdb)"); su postgres -c "$BIN/pg_ctl -D /tmp/pg-${port}/data -m fast -w stop"`;
      await run("bash", ["-c", script], { timeoutMs: 60_000 });
    });
  } else {
    log(`PostgreSQL was already running at ${url}; it stays running`);
  }
  return url;
}

export async function psql(url: string, sql: string): Promise<string> {
  return (
    await runOk("psql", [url, "-v", "ON_ERROR_STOP=1", "-qtAc", sql], { timeoutMs: 60_000 })
  ).stdout.trim();
}

/** A new empty database `name` on the server of `pgUrl`, dropped first if there; its URL. */
export async function freshDatabase(pgUrl: string, name: string): Promise<string> {
  await psql(pgUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await psql(pgUrl, `CREATE DATABASE ${name}`);
  return `${pgUrl.slice(0, pgUrl.lastIndexOf("/"))}/${name}`;
}

// ---------------------------------------------------------------- processes the bench starts

/** The command name of process `pid` ("" once it is gone). */
export function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/**
 * A peers start script run in its own process group, so that the servers it leaves running are that
 * group's and are stopped at the end. Its last line of output (the address it prints) and the group.
 */
export async function runPeerScript(
  script: string,
  args: readonly string[],
  what: string,
  diagnostics: () => string = () => "",
): Promise<{ lastLine: string; pgid: number }> {
  let pgid = 0;
  const r = await run(join(PEERS, script), args, { timeoutMs: 60_000, detached: true }, (pid) => {
    pgid = pid;
  });
  if (pgid) onCleanup(`stop ${what}`, () => stopGroup(pgid));
  if (r.code !== 0)
    throw new Error(`${script} failed:\n${tail(r.stdout)}\n${tail(r.stderr)}\n${diagnostics()}`.trimEnd());
  return { lastLine: r.stdout.trim().split("\n").pop() ?? "", pgid };
}

/** The process named `name` in group `pgid`, which this bench started. */
export function groupMemberNamed(pgid: number, name: string): number | undefined {
  return groupMembers(pgid).find((p) => processName(p) === name);
}

/**
 * A server started in its own process group with its output in `logFile`, stopped at the end; resolves
 * once `ready` says so, and fails with the log's tail if it exits or is not ready within `timeoutMs`.
 */
export async function startServer(opts: {
  what: string;
  cmd: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  logFile: string;
  ready: () => Promise<boolean>;
  timeoutMs: number;
}): Promise<{ child: ChildProcess; pid: number }> {
  const out = openSync(opts.logFile, "a");
  const child = spawn(opts.cmd, opts.args, {
    env: opts.env ?? process.env,
    stdio: ["ignore", out, out],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${opts.what}`);
  onCleanup(`stop ${opts.what}`, () => stopGroup(pid));
  // No use waiting for a server that exited: reported below.
  const up = await waitFor(async () => !isAlive(pid) || (await opts.ready()), opts.timeoutMs);
  if (!up || !isAlive(pid))
    throw new Error(
      `${opts.what} did not come up; log ${opts.logFile}:\n${tail(readFileSync(opts.logFile, "utf8"))}`,
    );
  return { child, pid };
}

// ---------------------------------------------------------------- Trustdock

export interface Trustdock {
  url: string;
  hostPort: string;
  ca: string;
  caFile: string;
  dataDir: string;
  password: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
}

/**
 * `trustdock up` from dist/ in its own process group (`up` and the signer it supervises), with a random
 * admin password: on a fresh PostgreSQL database `database` of `pgUrl`, or on embedded PGlite without one.
 * HTTPS, or with `plainHttp` plain HTTP as behind a proxy that terminates TLS (`up --plain-http`).
 */
export async function startTrustdock(opts: {
  label: string;
  work: string;
  pgUrl?: string;
  database?: string;
  nodeOptions?: readonly string[];
  plainHttp?: boolean;
}): Promise<Trustdock> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TRUSTDOCK_DATABASE_URL;
  if (opts.pgUrl)
    env.TRUSTDOCK_DATABASE_URL = await freshDatabase(opts.pgUrl, opts.database ?? "trustdock_bench");
  const dataDir = join(opts.work, `${opts.label}-data`);
  const port = await freePort();
  let signerPort = await freePort();
  for (let i = 0; i < 10 && signerPort === port; i++) signerPort = await freePort();
  const hostPort = `127.0.0.1:${port}`;
  const password = randomBytes(18).toString("base64url");
  const logFile = join(opts.work, `${opts.label}.log`);
  const caFile = join(dataDir, "tls", "ca.crt");
  const url = `${opts.plainHttp ? "http" : "https"}://${hostPort}`;
  const { child, pid } = await startServer({
    what: opts.label,
    cmd: process.execPath,
    args: [...(opts.nodeOptions ?? []), MAIN, "up", ...(opts.plainHttp ? ["--plain-http"] : [])],
    env: {
      ...env,
      TRUSTDOCK_DATA_DIR: dataDir,
      TRUSTDOCK_ADDR: hostPort,
      TRUSTDOCK_SIGNER_ADDR: `127.0.0.1:${signerPort}`,
      TRUSTDOCK_ADMIN_PASSWORD: password,
    },
    logFile,
    ready: async () => {
      if (!existsSync(caFile)) return false;
      const r = await get(`${url}/v2/`, { ca: readFileSync(caFile, "utf8"), timeoutMs: 2000 });
      return r.status === 401 || r.status === 200;
    },
    timeoutMs: 90_000,
  });
  return { url, hostPort, ca: readFileSync(caFile, "utf8"), caFile, dataDir, password, child, pid, logFile };
}

export const basicAuth = (td: Trustdock) => `Basic ${Buffer.from(`admin:${td.password}`).toString("base64")}`;

/** A token from Trustdock's token service for `actions` (e.g. "pull,push") on `repository`. */
export async function trustdockToken(td: Trustdock, repository: string, actions: string): Promise<string> {
  const scope = encodeURIComponent(`repository:${repository}:${actions}`);
  const r = await get(`${td.url}/service/token?service=trustdock&scope=${scope}`, {
    ca: td.ca,
    headers: { Authorization: basicAuth(td) },
  });
  if (r.status !== 200) throw new Error(`token request answered ${r.status}: ${r.body.slice(0, 200)}`);
  const token = (JSON.parse(r.body) as { token?: string }).token;
  if (!token) throw new Error("token response has no token");
  return token;
}

// ---------------------------------------------------------------- measuring and reporting

/** `sides` started at `offset`: who goes first changes, so drift on the machine hurts all sides alike. */
export function rotate<T>(sides: readonly T[], offset: number): T[] {
  const k = offset % sides.length;
  return [...sides.slice(k), ...sides.slice(0, k)];
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** The machine's busy time over 2 s in which the bench itself does nothing; `before` names what comes next. */
export async function backgroundLoad(
  groups: Parameters<typeof cpuBetween>[2],
  before?: string,
): Promise<CpuUse> {
  const idleBefore = cpuSnapshot();
  await sleep(2000);
  const background = cpuBetween(idleBefore, cpuSnapshot(), groups);
  log(
    `background load${before ? ` before the ${before}` : ""}: machine ${background.machineBusyPct}% busy` +
      ` (${background.lastGroupTop.map((t) => `${t.comm} ${t.pct}%`).join(", ") || "nothing else"})`,
  );
  if (background.machineBusyPct > 20)
    log(
      `warning: the machine is busy with other work; ${before ?? "figures"} will be slower and noisier than on a quiet one`,
    );
  return background;
}

/** What a wrk run got wrong (answers other than 200, socket errors), as errors of the run named `what`. */
export function recordWrkErrors(what: string, wrk: WrkResult): void {
  const e = wrk.socketErrors;
  if (wrk.non200 > 0) errors.push(`${what}: ${wrk.non200} non-200 responses`);
  if (e.connect + e.read + e.write + e.timeout > 0)
    errors.push(`${what}: socket errors ${JSON.stringify(e)}`);
}

/** When the run was, and on what: the head of every results file. */
export function runFacts(started: Date) {
  return {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    node: process.version,
    cores: cpus().length,
    loadAverageAtEnd: loadavg(),
  };
}

/** `result` as JSON in `file`, numbers to 3 decimals, formatted as biome (which checks test/) wants it. */
export async function writeResults(file: string, result: unknown): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify(result, (_k, v) => (typeof v === "number" && Number.isFinite(v) ? Math.round(v * 1000) / 1000 : v), 2)}\n`,
  );
  const biome = join(REPO, "node_modules", ".bin", "biome");
  if (existsSync(biome)) await run(biome, ["format", "--write", file], { timeoutMs: 30_000 });
  log(`results written to ${file}`);
}
