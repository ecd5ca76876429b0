import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

/** What a bounded child process left behind. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Killed (SIGKILL) after this long; the result then has signal SIGKILL. */
  timeoutMs: number;
  /**
   * Own process group, so everything it leaves running can be found and stopped by that group; a timeout
   * or an interruption then kills the whole group.
   */
  detached?: boolean;
}

const running = new Set<ChildProcess>();
const detachedChildren = new WeakSet<ChildProcess>();

/** SIGKILL to the child, or to its whole process group if it has its own (a shell and what it started). */
function kill(child: ChildProcess): void {
  try {
    if (child.pid !== undefined && detachedChildren.has(child)) process.kill(-child.pid, "SIGKILL");
    else child.kill("SIGKILL");
  } catch {
    // gone already
  }
}
/** Kills every command `run` started that has not ended yet: for an interrupted bench. */
export function killRunning(): void {
  for (const child of running) kill(child);
}

/** Runs a command to its end, never longer than `timeoutMs`; `pid` reports the child's id as soon as it has one. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: RunOptions,
  pid?: (pid: number) => void,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const spawnOpts: SpawnOptions = {
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: opts.detached ?? false,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    };
    const child = spawn(cmd, args, spawnOpts);
    running.add(child);
    if (opts.detached) detachedChildren.add(child);
    if (child.pid !== undefined) pid?.(child.pid);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => kill(child), opts.timeoutMs);
    child.on("error", (err) => {
      running.delete(child);
      clearTimeout(timer);
      reject(err);
    });
    // "close", not "exit": the pipes are drained. A detached script's background children may keep them
    // open, so those are started with their output redirected (notary-anchor-up.sh does that).
    child.on("close", (code, signal) => {
      running.delete(child);
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Like `run`, but a non-zero exit, a signal or a timeout is an error carrying the output. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const why = r.signal ? `killed by ${r.signal} (timeout ${opts.timeoutMs} ms?)` : `exit ${r.code}`;
    throw new Error(`${cmd} ${args.join(" ")}: ${why}\n${tail(r.stdout)}\n${tail(r.stderr)}`.trim());
  }
  return r;
}

export function tail(text: string, lines = 20): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** A port nothing listens on right now on 127.0.0.1 (the usual race applies; ports come from the ephemeral range). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether `port` on 127.0.0.1 can be bound now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** Polls `probe` until it returns true, at most `timeoutMs`; false if it never did. */
export async function waitFor(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return true;
    await sleep(intervalMs);
  }
  return false;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The ids of live processes in process group `pgid` (field 5 of /proc/<pid>/stat). */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const stat of allStats()) if (stat.pgid === pgid) members.push(stat.pid);
  return members;
}

/**
 * Stops the process group `pgid` that this bench created (SIGTERM, then SIGKILL after `graceMs`).
 * Only ever called with the id of a child spawned detached by this process, so nothing else is touched.
 */
export async function stopGroup(pgid: number, graceMs = 5000): Promise<void> {
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pgid, signal);
    } catch {
      // the group is gone already
    }
  };
  if (groupMembers(pgid).length === 0) return;
  signalGroup("SIGTERM");
  if (await waitFor(async () => groupMembers(pgid).length === 0, graceMs, 100)) return;
  signalGroup("SIGKILL");
  await waitFor(async () => groupMembers(pgid).length === 0, 2000, 100);
}

export function stopChild(child: ChildProcess | undefined): Promise<void> {
  return child?.pid === undefined ? Promise.resolve() : stopGroup(child.pid);
}

// ---- CPU accounting from /proc: who used the two cores during a load run ----

interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  comm: string;
  /** utime + stime, clock ticks. */
  ticks: number;
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    const open = text.indexOf("(");
    const close = text.lastIndexOf(")");
    if (open < 0 || close < 0) continue;
    const rest = text.slice(close + 2).split(" ");
    // rest[0] is field 3 (state): ppid is field 4, pgrp 5, utime 14, stime 15.
    out.push({
      pid: Number(name),
      ppid: Number(rest[1]),
      pgid: Number(rest[2]),
      comm: text.slice(open + 1, close),
      ticks: Number(rest[11]) + Number(rest[12]),
    });
  }
  return out;
}

const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux

function systemTimes(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest fields are already inside user/nice)
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

export interface CpuSnapshot {
  at: number;
  procs: Map<number, ProcStat>;
  system: { busy: number; total: number };
}

export function cpuSnapshot(): CpuSnapshot {
  return {
    at: performance.now(),
    procs: new Map(allStats().map((s) => [s.pid, s])),
    system: systemTimes(),
  };
}

/** CPU used between two snapshots, as % of one core, for named groups of processes, plus the machine's busy %. */
export function cpuBetween(
  before: CpuSnapshot,
  after: CpuSnapshot,
  groups: Record<string, (s: ProcStat) => boolean>,
): CpuUse {
  const seconds = (after.at - before.at) / 1000;
  const pct = (ticks: number) => round1(((ticks / CLOCK_TICKS) * 100) / Math.max(seconds, 1e-3));
  const used: Record<string, number> = {};
  const lastGroupTicksByComm = new Map<string, number>();
  const groupNames = Object.keys(groups);
  const lastGroup = groupNames[groupNames.length - 1];
  for (const name of Object.keys(groups)) used[name] = 0;
  for (const [pid, a] of after.procs) {
    const b = before.procs.get(pid);
    const delta = a.ticks - (b && b.comm === a.comm ? b.ticks : 0);
    for (const [name, match] of Object.entries(groups)) {
      if (match(a)) {
        used[name] = (used[name] ?? 0) + delta;
        if (name === lastGroup && delta > 0)
          lastGroupTicksByComm.set(a.comm, (lastGroupTicksByComm.get(a.comm) ?? 0) + delta);
        break;
      }
    }
  }
  const byGroupPctOfCore: Record<string, number> = {};
  for (const [name, ticks] of Object.entries(used)) byGroupPctOfCore[name] = pct(ticks);
  const dt = after.system.total - before.system.total;
  const machineBusyPct = round1(dt > 0 ? ((after.system.busy - before.system.busy) * 100) / dt : 0);
  const lastGroupTop = [...lastGroupTicksByComm]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([comm, ticks]) => ({ comm, pct: pct(ticks) }));
  return { machineBusyPct, byGroupPctOfCore, lastGroupTop };
}

export interface CpuUse {
  /** Of the whole machine (all cores). */
  machineBusyPct: number;
  byGroupPctOfCore: Record<string, number>;
  /** The biggest users, by command name, in the last (catch-all) group. */
  lastGroupTop: Array<{ comm: string; pct: number }>;
}

export const round1 = (n: number) => Math.round(n * 10) / 10;
