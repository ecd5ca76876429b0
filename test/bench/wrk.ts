import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { run, tail } from "./proc.js";

export interface WrkScriptOptions {
  /** Lua run when the script loads, before any request: sets `wrk.method`, `wrk.body`, `wrk.headers`. */
  request?: string;
  /** A Lua condition over `status` and `body` that a good response meets; others count as non200. */
  accept?: string;
}

/**
 * Writes `name` into `dir`: a wrk script that counts the responses not meeting `accept` (by default, a
 * status other than exactly 200) in every thread, and prints one JSON line at the end that runWrk reads.
 * wrk's own error counters only see statuses above 399 and socket errors.
 */
export function writeWrkScript(dir: string, name = "count-non200.lua", opts: WrkScriptOptions = {}): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `${opts.request ?? ""}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non200 = 0 end
function response(status, headers, body) if not (${opts.accept ?? "status == 200"}) then non200 = non200 + 1 end end
function done(summary, latency, requests)
  local non200 = 0
  for _, t in ipairs(threads) do non200 = non200 + (t:get("non200") or 0) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"non200":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, non200, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
`,
  );
  return file;
}

export interface WrkResult {
  requests: number;
  durationS: number;
  rps: number;
  non200: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  latencyMs: { p50: number; p90: number; p99: number; mean: number };
  /** CPU seconds wrk itself used (user + system), from the wrapping shell's `times`. */
  wrkCpuSeconds: number;
}

export interface WrkOptions {
  url: string;
  script: string;
  threads: number;
  connections: number;
  durationS: number;
  headers?: Record<string, string>;
}

/** One wrk run, killed if it overruns its duration by 20 s. */
export async function runWrk(opts: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${opts.threads}`,
    `-c${opts.connections}`,
    `-d${opts.durationS}s`,
    "--timeout",
    "5s",
    "-s",
    opts.script,
  ];
  for (const [name, value] of Object.entries(opts.headers ?? {})) args.push("-H", `${name}: ${value}`);
  args.push(opts.url);
  // `times` reports the CPU the shell's children (wrk) used, which /proc no longer shows once wrk exited.
  const r = await run("bash", ["-c", 'wrk "$@"; rc=$?; times; exit $rc', "wrk", ...args], {
    timeoutMs: (opts.durationS + 20) * 1000,
    detached: true, // a timeout or an interruption kills wrk with its shell
  });
  const line = r.stdout.split("\n").find((l) => l.startsWith("WRKJSON "));
  if (r.code !== 0 || !line)
    throw new Error(
      `wrk failed (${r.signal ?? `exit ${r.code}`}) on ${opts.url}\n${tail(r.stdout)}\n${tail(r.stderr)}`,
    );
  const j = JSON.parse(line.slice("WRKJSON ".length)) as Record<string, number>;
  const n = (k: string) => j[k] ?? 0;
  const durationS = n("duration_us") / 1e6;
  return {
    requests: n("requests"),
    durationS,
    rps: durationS > 0 ? n("requests") / durationS : 0,
    non200: n("non200"),
    socketErrors: { connect: n("connect"), read: n("read"), write: n("write"), timeout: n("timeout") },
    latencyMs: {
      p50: n("p50_us") / 1000,
      p90: n("p90_us") / 1000,
      p99: n("p99_us") / 1000,
      mean: n("mean_us") / 1000,
    },
    wrkCpuSeconds: childCpuSeconds(r.stdout),
  };
}

/** The second line of bash's `times`: children's user and system time, e.g. "0m1.234s 0m0.567s". */
function childCpuSeconds(stdout: string): number {
  const lines = stdout.trimEnd().split("\n");
  const last = lines[lines.length - 1] ?? "";
  let total = 0;
  for (const m of last.matchAll(/(\d+)m([\d.]+)s/g)) total += Number(m[1]) * 60 + Number(m[2]);
  return total;
}
