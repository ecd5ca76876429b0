/**
 * `npm run bench:trust`: Trustdock against the real notary-server 0.7, side by side, both on the same
 * PostgreSQL, in one run. Reads (wrk on timestamp.json and root.json) and whole CLI publishes.
 *
 * Two comparisons: with the anchor as notary-anchor-up.sh starts it (plain HTTP), and with a second
 * notary-server on the same storage and signer that serves HTTPS, so TLS costs both sides alike.
 *
 * Settings (environment): BENCH_DURATION_S (10), BENCH_WARMUP_S (2), BENCH_THREADS (2),
 * BENCH_CONNECTIONS (32), BENCH_PUBLISHES (10), BENCH_PG_PORT (55432), BENCH_NOTARY_PORT (14443),
 * BENCH_KEEP=1 keeps the temporary folders (logs, trust dirs).
 *
 * Exits non-zero only on errors (a service that does not start, a non-200 read, a failed publish); a
 * missed goal is printed, not fatal.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import {
  createCertificateAuthority,
  issueCertificate,
  type PemPair,
} from "../../server/tls/certificate-authority.js";
import {
  backgroundLoad,
  errors,
  groupMemberNamed,
  intEnv,
  log,
  median,
  psql,
  REPO,
  recordWrkErrors,
  reportErrors,
  rotate,
  runBench,
  runFacts,
  runPeerScript,
  startPostgres,
  startServer,
  startTrustdock,
  trustdockToken,
  workFolder,
  writeResults,
} from "./harness.js";
import { get } from "./http.js";
import {
  type CpuSnapshot,
  type CpuUse,
  cpuBetween,
  cpuSnapshot,
  freePort,
  portIsFree,
  type RunResult,
  round1,
  run,
  runOk,
  tail,
} from "./proc.js";
import { runWrk, type WrkResult, writeWrkScript } from "./wrk.js";

// ---------------------------------------------------------------- settings

const DURATION_S = intEnv("BENCH_DURATION_S", 10);
const WARMUP_S = intEnv("BENCH_WARMUP_S", 2);
const THREADS = intEnv("BENCH_THREADS", 2);
const CONNECTIONS = intEnv("BENCH_CONNECTIONS", 32);
const PUBLISHES = intEnv("BENCH_PUBLISHES", 10, 100);
const PG_PORT = intEnv("BENCH_PG_PORT", 55432);
const NOTARY_PORT = intEnv("BENCH_NOTARY_PORT", 14443);
/** The whole bench, start to stop; past it, everything is stopped and the run fails. */
const OVERALL_TIMEOUT_MS = 20 * 60 * 1000;
const CLI_TIMEOUT_MS = 120_000;
const FILES = ["timestamp", "root"] as const;
const RPS_GOAL = 2;
const LATENCY_GOAL = 1;
const CORES = cpus().length;

const RESULTS = join(REPO, "test", "bench", "results", "trust-latest.json");

// ---------------------------------------------------------------- PostgreSQL

/** The postmaster of the cluster on PG_PORT, so its backends can be told from other clusters' in CPU figures. */
function postmasterPid(): number | undefined {
  try {
    const pid = Number(readFileSync(`/tmp/pg-${PG_PORT}/data/postmaster.pid`, "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** How many sessions were ever opened on `database` (PostgreSQL 14+); NaN if it cannot tell. */
async function pgSessions(pgUrl: string, database: string): Promise<number> {
  try {
    return Number(await psql(pgUrl, `SELECT sessions FROM pg_stat_database WHERE datname = '${database}'`));
  } catch {
    return Number.NaN;
  }
}

// ---------------------------------------------------------------- notary-server (the anchor)

interface Anchor {
  url: string;
  hostPort: string;
  pgid: number;
  serverPid: number;
  signerPid: number;
  dir: string;
}

async function anchorPort(): Promise<number> {
  const pairFree = async (p: number) => (await portIsFree(p)) && (await portIsFree(p + 1));
  if (await pairFree(NOTARY_PORT)) return NOTARY_PORT;
  for (let i = 0; i < 20; i++) {
    const p = await freePort();
    if (p < 65535 && (await pairFree(p))) return p;
  }
  throw new Error("no free pair of ports for notary-server and notary-signer");
}

async function startAnchor(pgUrl: string): Promise<Anchor> {
  const port = await anchorPort();
  if (port !== NOTARY_PORT) log(`port ${NOTARY_PORT} is taken: notary-server goes on ${port}`);
  const dir = "/tmp/notary-anchor-bench";
  const { lastLine: url, pgid } = await runPeerScript(
    "notary-anchor-up.sh",
    ["--pg", pgUrl, String(port), dir],
    "notary-server and notary-signer",
    () => logTail(dir),
  );
  const serverPid = groupMemberNamed(pgid, "notary-server");
  const signerPid = groupMemberNamed(pgid, "notary-signer");
  if (!serverPid || !signerPid)
    throw new Error(`notary-server/notary-signer answering at ${url} were not started by this bench`);
  return { url, hostPort: new URL(url).host, pgid, serverPid, signerPid, dir };
}

// ---------------------------------------------------------------- notary-server over HTTPS

interface NotaryHttps {
  url: string;
  hostPort: string;
  pid: number;
  ca: string;
  caFile: string;
  logFile: string;
}

/**
 * Another notary-server with the anchor's own configuration (its PostgreSQL database, its notary-signer)
 * but serving HTTPS, with an ECDSA P-256 certificate from Trustdock's CA module, the kind Trustdock serves.
 * With `tokenAuth`, it also demands tokens from that realm, checked against that certificate: notary-server
 * as Harbor deploys it, with Trustdock's token service in Harbor's place.
 */
async function startNotaryHttps(
  anchor: Anchor,
  work: string,
  opts: { name: string; ca?: PemPair; tokenAuth?: { realm: string; certFile: string } },
): Promise<NotaryHttps> {
  const dir = join(work, opts.name);
  mkdirSync(dir, { recursive: true });
  const ca = opts.ca ?? createCertificateAuthority("bench notary-server CA");
  const leaf = issueCertificate(ca, {
    commonName: "localhost",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    usage: "server",
    days: 2,
  });
  const caFile = join(dir, "ca.crt");
  writeFileSync(caFile, ca.certPem);
  writeFileSync(join(dir, "server.crt"), leaf.certPem);
  writeFileSync(join(dir, "server.key"), leaf.keyPem, { mode: 0o600 });

  const port = await freePort();
  const hostPort = `127.0.0.1:${port}`;
  const config = JSON.parse(readFileSync(join(anchor.dir, "server.json"), "utf8")) as {
    server: Record<string, string>;
    auth?: unknown;
  };
  config.server = {
    ...config.server,
    http_addr: hostPort,
    tls_cert_file: join(dir, "server.crt"),
    tls_key_file: join(dir, "server.key"),
  };
  if (opts.tokenAuth)
    config.auth = {
      type: "token",
      options: {
        realm: opts.tokenAuth.realm,
        service: "trustdock",
        issuer: "trustdock",
        rootcertbundle: opts.tokenAuth.certFile,
      },
    };
  const configFile = join(dir, "server.json");
  writeFileSync(configFile, JSON.stringify(config));
  const logFile = join(dir, "server.log");
  const url = `https://${hostPort}`;
  const { pid } = await startServer({
    what: "notary-server (HTTPS)",
    cmd: "notary-server",
    args: ["-config", configFile],
    logFile,
    ready: async () =>
      (await get(`${url}/_notary_server/health`, { ca: ca.certPem, timeoutMs: 2000 })).status === 200,
    timeoutMs: 30_000,
  });
  return { url, hostPort, pid, ca: ca.certPem, caFile, logFile };
}

function logTail(dir: string): string {
  return ["server.log", "signer.log"]
    .map((f) => {
      try {
        return `${f}:\n${tail(readFileSync(join(dir, f), "utf8"), 10)}`;
      } catch {
        return "";
      }
    })
    .join("\n");
}

// ---------------------------------------------------------------- the sides, as the benchmark sees them

type SideName = "notary" | "notary-https" | "notary-auth" | "trustdock";

/** The CPU groups (see `groups` in main) that serve each side's requests; the first is its server. */
const SERVER_GROUPS: Record<SideName, readonly string[]> = {
  notary: ["notary-server", "notary-signer"],
  "notary-https": ["notary-server-https", "notary-signer"],
  "notary-auth": ["notary-server-auth", "notary-signer"],
  trustdock: ["trustdock-server", "trustdock-signer"],
};

interface Side {
  name: SideName;
  label: string;
  url: string;
  gun: string;
  /** Headers for a read, a fresh token each time for Trustdock. */
  readHeaders(): Promise<Record<string, string>>;
  ca?: string;
  /** Sessions ever opened on the side's database (pg_stat_database.sessions). */
  pgSessions(): Promise<number>;
  notaryArgs: string[];
  notaryEnv: NodeJS.ProcessEnv;
}

function fileUrl(side: Side, file: string): string {
  return `${side.url}/v2/${side.gun}/_trust/tuf/${file}.json`;
}

async function notaryCli(side: Side, args: string[]): Promise<RunResult> {
  return runOk("notary", [...side.notaryArgs, ...args], { env: side.notaryEnv, timeoutMs: CLI_TIMEOUT_MS });
}

/** A GET that must be a 200 carrying TUF metadata of the expected role. */
async function checkRead(side: Side, file: string, when: string): Promise<void> {
  const r = await get(fileUrl(side, file), {
    headers: await side.readHeaders(),
    ...(side.ca ? { ca: side.ca } : {}),
  });
  let type: unknown;
  try {
    type = (JSON.parse(r.body) as { signed?: { _type?: string } }).signed?._type;
  } catch {
    type = undefined;
  }
  if (r.status !== 200 || String(type).toLowerCase() !== file)
    throw new Error(
      `${when}: GET ${file}.json on ${side.label} answered ${r.status}: ${r.body.slice(0, 200)}`,
    );
}

// ---------------------------------------------------------------- measurements

interface ReadRun {
  side: SideName;
  file: string;
  wrk: WrkResult;
  cpu: CpuUse;
  /** req/s per CPU-second of the server side (server, its signer, PostgreSQL). */
  reqPerServerCpuSecond: number;
  /** Busy % (of one core) that no live process accounts for. */
  unaccountedPct: number;
  /** PostgreSQL sessions opened on the side's database during the run (connection churn). */
  newPgSessions: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

async function measureRead(
  side: Side,
  file: string,
  script: string,
  groups: Parameters<typeof cpuBetween>[2],
): Promise<ReadRun> {
  const wrkFor = async (durationS: number) =>
    runWrk({
      url: fileUrl(side, file),
      script,
      threads: THREADS,
      connections: CONNECTIONS,
      durationS,
      headers: await side.readHeaders(),
    });
  await checkRead(side, file, "before the run");
  const warm = await wrkFor(WARMUP_S);
  if (warm.non200 > 0) errors.push(`${side.label} ${file}.json warm-up: ${warm.non200} non-200 responses`);
  const headers = await side.readHeaders(); // fresh token right before the measured run
  const sessionsBefore = await side.pgSessions();
  const before: CpuSnapshot = cpuSnapshot();
  const wrk = await runWrk({
    url: fileUrl(side, file),
    script,
    threads: THREADS,
    connections: CONNECTIONS,
    durationS: DURATION_S,
    headers,
  });
  const after = cpuSnapshot();
  const cpu = cpuBetween(before, after, groups);
  const newPgSessions = (await side.pgSessions()) - sessionsBefore;
  cpu.byGroupPctOfCore.wrk = round1((wrk.wrkCpuSeconds * 100) / Math.max(wrk.durationS, 1e-3));
  await checkRead(side, file, "after the run");
  const g = cpu.byGroupPctOfCore;
  const serverSide = SERVER_GROUPS[side.name].reduce((sum, group) => sum + (g[group] ?? 0), 0);
  const reqPerServerCpuSecond = wrk.rps / Math.max((serverSide + (g.postgres ?? 0)) / 100, 1e-3);
  const accounted = Object.values(g).reduce((a, b) => a + b, 0);
  const unaccountedPct = round1(Math.max(0, cpu.machineBusyPct * CORES - accounted));
  recordWrkErrors(`${side.label} ${file}.json`, wrk);
  log(
    `${side.label.padEnd(20)} ${`${file}.json`.padEnd(14)} ${wrk.rps.toFixed(0).padStart(7)} req/s  p50 ${wrk.latencyMs.p50.toFixed(2)} ms  p99 ${wrk.latencyMs.p99.toFixed(2)} ms  non-200 ${wrk.non200}  machine busy ${cpu.machineBusyPct}%`,
  );
  return { side: side.name, file, wrk, cpu, reqPerServerCpuSecond, unaccountedPct, newPgSessions };
}

async function measurePublishes(
  sides: readonly Side[],
  targetFile: string,
): Promise<Record<SideName, number[]>> {
  const times: Record<SideName, number[]> = {
    notary: [],
    "notary-https": [],
    "notary-auth": [],
    trustdock: [],
  };
  for (let i = 0; i < PUBLISHES; i++) {
    const version = `v${i + 2}`; // v1 was published with the repository
    for (const side of rotate(sides, i)) {
      const r = await run("notary", [...side.notaryArgs, "add", side.gun, version, targetFile, "-p"], {
        env: side.notaryEnv,
        timeoutMs: CLI_TIMEOUT_MS,
      });
      if (r.code !== 0) {
        errors.push(
          `${side.label} publish ${version} failed (${r.signal ?? `exit ${r.code}`}): ${tail(r.stderr, 3)}`,
        );
        continue;
      }
      times[side.name].push(r.ms);
    }
  }
  for (const side of sides) {
    const list = await notaryCli(side, ["list", side.gun]);
    const count = list.stdout.split("\n").filter((l) => /^v\d+\s/.test(l.trim())).length;
    if (count !== PUBLISHES + 1)
      errors.push(`${side.label}: notary list shows ${count} targets, expected ${PUBLISHES + 1}`);
  }
  return times;
}

// ---------------------------------------------------------------- report

interface Line {
  what: string;
  /** The notary-server of the comparison the line belongs to (plain HTTP or HTTPS). */
  notary: number;
  trustdock: number;
  unit: string;
  /** Trustdock/notary for rates, notary/Trustdock for latencies: above 1 is Trustdock ahead. */
  ratio: number;
  /** Only the comparison the goals were set against (the anchor as it runs) has them. */
  goal?: number;
  met?: boolean;
}

function fmt(n: number, unit: string): string {
  if (!Number.isFinite(n)) return "n/a";
  return unit === "req/s" ? n.toFixed(0) : n.toFixed(1);
}

function comparisonTable(title: string, notaryColumn: string, lines: readonly Line[]): string[] {
  const out: string[] = ["", title, ""];
  out.push(
    `${"".padEnd(28)}${notaryColumn.padStart(20)}${"Trustdock".padStart(12)}${"ratio".padStart(9)}   goal`,
  );
  for (const l of lines) {
    const goal =
      l.goal === undefined ? "none (for context)" : `>= ${l.goal}x  ${l.met ? "goal met" : "goal missed"}`;
    out.push(
      `${`${l.what} (${l.unit})`.padEnd(28)}${fmt(l.notary, l.unit).padStart(20)}${fmt(l.trustdock, l.unit).padStart(12)}${`${Number.isFinite(l.ratio) ? l.ratio.toFixed(2) : "n/a"}x`.padStart(9)}   ${goal}`,
    );
  }
  return out;
}

function readDetails(reads: readonly ReadRun[]): string[] {
  const out = [
    "",
    `Read runs in detail. CPU in % of one core (${CORES} cores: ${CORES * 100}% is all of them); "exited/kernel" is`,
    "busy time no live process accounts for (processes that ended during the run, interrupts). req/CPU-s divides",
    "req/s by the CPU the server side used (server + its signer + PostgreSQL): less sensitive to other load.",
  ];
  for (const r of reads) {
    const g = r.cpu.byGroupPctOfCore;
    const serverGroup = SERVER_GROUPS[r.side][0] ?? "";
    out.push(
      `  ${r.side.padEnd(13)} ${`${r.file}.json`.padEnd(15)} ${r.wrk.rps.toFixed(0).padStart(6)} req/s  ${r.reqPerServerCpuSecond.toFixed(0).padStart(5)} req/CPU-s  ` +
        `latency p50 ${r.wrk.latencyMs.p50.toFixed(1)} ms, p99 ${r.wrk.latencyMs.p99.toFixed(1)} ms, ${r.newPgSessions} new PostgreSQL sessions`,
      `  ${"".padEnd(29)}machine ${r.cpu.machineBusyPct}% busy = ${serverGroup} ${g[serverGroup]}%, postgres ${g.postgres}%, wrk ${g.wrk}%, ` +
        `others ${g.others}% (${r.cpu.lastGroupTop.map((t) => `${t.comm} ${t.pct}%`).join(", ")}), exited/kernel ${r.unaccountedPct}%`,
    );
  }
  return out;
}

/** The same four lines for any notary-server side against Trustdock. */
function compare(
  notary: SideName,
  reads: readonly ReadRun[],
  publish: Record<SideName, number[]>,
  goals: boolean,
): Line[] {
  const rps = (side: SideName, file: string) =>
    reads.find((r) => r.side === side && r.file === file)?.wrk.rps ?? 0;
  const withGoal = (ratio: number, goal: number) => (goals ? { goal, met: ratio >= goal } : {});
  const lines: Line[] = [];
  for (const file of FILES) {
    const n = rps(notary, file);
    const t = rps("trustdock", file);
    const ratio = n > 0 ? t / n : Number.NaN;
    lines.push({
      what: `GET ${file}.json`,
      notary: n,
      trustdock: t,
      unit: "req/s",
      ratio,
      ...withGoal(ratio, RPS_GOAL),
    });
  }
  const sorted = (side: SideName) => [...publish[side]].sort((a, b) => a - b);
  for (const [what, stat] of [
    ["publish median", median],
    ["publish p90", (s: readonly number[]) => percentile(s, 90)],
  ] as const) {
    const n = stat(sorted(notary));
    const t = stat(sorted("trustdock"));
    const ratio = t > 0 ? n / t : Number.NaN;
    lines.push({ what, notary: n, trustdock: t, unit: "ms", ratio, ...withGoal(ratio, LATENCY_GOAL) });
  }
  return lines;
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const started = new Date();
  const work = workFolder("trust-bench-", "logs, trust dirs");
  const suffix = `${started.getTime().toString(36)}${randomBytes(2).toString("hex")}`;

  // 1. PostgreSQL
  const pgUrl = await startPostgres(PG_PORT);
  // 2. notary-server + notary-signer on it
  const anchor = await startAnchor(pgUrl);
  log(`notary-server at ${anchor.url} (pid ${anchor.serverPid}, signer ${anchor.signerPid})`);
  // 2b. a second notary-server on the same storage and signer, over HTTPS
  const notaryTls = await startNotaryHttps(anchor, work, { name: "notary-https" });
  log(`notary-server over HTTPS at ${notaryTls.url} (pid ${notaryTls.pid}), log ${notaryTls.logFile}`);
  // 3. Trustdock on it
  const td = await startTrustdock({ label: "trustdock", work, pgUrl, database: "trustdock_bench" });
  log(`Trustdock at ${td.url} (pid ${td.pid}), log ${td.logFile}`);
  // 3b. a third notary-server, over HTTPS with a certificate from Trustdock's CA, taking Trustdock's tokens
  const tdTls = join(td.dataDir, "tls");
  const notaryAuth = await startNotaryHttps(anchor, work, {
    name: "notary-auth",
    ca: { certPem: td.ca, keyPem: readFileSync(join(tdTls, "ca.key"), "utf8") },
    tokenAuth: { realm: `${td.url}/service/token`, certFile: join(tdTls, "token.crt") },
  });
  log(`notary-server over HTTPS with Trustdock's tokens at ${notaryAuth.url} (pid ${notaryAuth.pid})`);

  // 4. one repository in each, made by the real notary CLI
  const passphrases = {
    NOTARY_ROOT_PASSPHRASE: "bench-root-passphrase",
    NOTARY_TARGETS_PASSPHRASE: "bench-targets-passphrase",
    NOTARY_SNAPSHOT_PASSPHRASE: "bench-snapshot-passphrase",
    NOTARY_DELEGATION_PASSPHRASE: "bench-delegation-passphrase",
  };
  const notarySide: Side = {
    name: "notary",
    label: "notary-server",
    url: anchor.url,
    gun: `${anchor.hostPort}/library/bench-${suffix}`,
    readHeaders: async () => ({}),
    pgSessions: () => pgSessions(pgUrl, "notary_anchor"),
    notaryArgs: ["-s", anchor.url, "-d", join(work, "cli-notary")],
    notaryEnv: { ...process.env, ...passphrases, NOTARY_AUTH: "" },
  };
  const notaryHttpsSide: Side = {
    name: "notary-https",
    label: "notary-server HTTPS",
    url: notaryTls.url,
    gun: `${notaryTls.hostPort}/library/bench-${suffix}`,
    readHeaders: async () => ({}),
    ca: notaryTls.ca,
    pgSessions: () => pgSessions(pgUrl, "notary_anchor"),
    notaryArgs: ["-s", notaryTls.url, "-d", join(work, "cli-notary-https"), "--tlscacert", notaryTls.caFile],
    notaryEnv: { ...process.env, ...passphrases, NOTARY_AUTH: "" },
  };
  const notaryAuthSide: Side = {
    name: "notary-auth",
    label: "notary-server HTTPS+auth",
    url: notaryAuth.url,
    gun: `${notaryAuth.hostPort}/library/bench-${suffix}`,
    readHeaders: async () => ({
      Authorization: `Bearer ${await trustdockToken(td, notaryAuthSide.gun, "pull")}`,
    }),
    ca: notaryAuth.ca,
    pgSessions: () => pgSessions(pgUrl, "notary_anchor"),
    notaryArgs: ["-s", notaryAuth.url, "-d", join(work, "cli-notary-auth"), "--tlscacert", td.caFile],
    notaryEnv: {
      ...process.env,
      ...passphrases,
      NOTARY_AUTH: Buffer.from(`admin:${td.password}`).toString("base64"),
    },
  };
  const tdSide: Side = {
    name: "trustdock",
    label: "Trustdock",
    url: td.url,
    gun: `${td.hostPort}/library/bench-${suffix}`,
    readHeaders: async () => ({ Authorization: `Bearer ${await trustdockToken(td, tdSide.gun, "pull")}` }),
    ca: td.ca,
    pgSessions: () => pgSessions(pgUrl, "trustdock_bench"),
    notaryArgs: ["-s", td.url, "-d", join(work, "cli-trustdock"), "--tlscacert", td.caFile],
    notaryEnv: {
      ...process.env,
      ...passphrases,
      NOTARY_AUTH: Buffer.from(`admin:${td.password}`).toString("base64"),
    },
  };
  const sides = [notarySide, notaryHttpsSide, notaryAuthSide, tdSide] as const;
  const targetFile = join(work, "target.bin");
  writeFileSync(targetFile, randomBytes(1024));
  for (const side of sides) {
    await notaryCli(side, ["init", side.gun, "-p"]);
    await notaryCli(side, ["add", side.gun, "v1", targetFile, "-p"]);
    log(`${side.label}: created ${side.gun}`);
  }

  // 5. reads under wrk
  const script = writeWrkScript(work);
  const pm = postmasterPid();
  const groups: Parameters<typeof cpuBetween>[2] = {
    "trustdock-server": (s) => s.pid === td.pid,
    "trustdock-signer": (s) => s.ppid === td.pid,
    "notary-server": (s) => s.pid === anchor.serverPid,
    "notary-server-https": (s) => s.pid === notaryTls.pid,
    "notary-server-auth": (s) => s.pid === notaryAuth.pid,
    "notary-signer": (s) => s.pid === anchor.signerPid,
    postgres: (s) => (pm ? s.pid === pm || s.ppid === pm : s.comm === "postgres"),
    others: () => true,
  };
  // What the machine does without load from the bench: other work on it shares the cores with wrk.
  const background = await backgroundLoad(groups, "reads");
  const reads: ReadRun[] = [];
  for (const [i, file] of FILES.entries()) {
    for (const side of rotate(sides, i)) reads.push(await measureRead(side, file, script, groups));
  }

  // 6. publishes
  log(`timing ${PUBLISHES} publishes on each side (notary add -p, taking turns)`);
  // Other work (a test run) slows the CLI and all three servers: comparable within a run, less so across runs.
  const backgroundPublishes = await backgroundLoad(groups, "publishes");
  const publish = await measurePublishes(sides, targetFile);

  // 7. report
  const lines = compare("notary", reads, publish, true);
  const httpsLines = compare("notary-https", reads, publish, false);
  const authLines = compare("notary-auth", reads, publish, false);
  const header =
    `Trustdock vs notary-server 0.7, all on PostgreSQL ${pgUrl.replace(/\/[^/]*$/, "")}; ` +
    `wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION_S}s after a ${WARMUP_S} s warm-up; ${PUBLISHES} publishes each.\n` +
    "Trustdock is read over HTTPS with a bearer token in every comparison; notary-server needs no auth in the\n" +
    "first two, and takes a bearer token from Trustdock's token service in the third.\n" +
    `Background load: machine ${background.machineBusyPct}% busy before the reads, ` +
    `${backgroundPublishes.machineBusyPct}% before the publishes.`;
  console.log(
    [
      "",
      header,
      ...comparisonTable(
        "1. notary-server as the anchor runs it: plain HTTP (the comparison the goals are set against)",
        "notary-server HTTP",
        lines,
      ),
      ...comparisonTable(
        "2. notary-server over HTTPS (same transport as Trustdock): same storage and signer, ECDSA P-256 certificate",
        "notary-server HTTPS",
        httpsLines,
      ),
      ...comparisonTable(
        "3. notary-server over HTTPS with token auth, as Harbor runs it (Trustdock's token service, the same as Trustdock's clients pay for)",
        "notary-server +auth",
        authLines,
      ),
      ...readDetails(reads),
    ].join("\n"),
  );

  const result = {
    ...runFacts(started),
    settings: {
      durationS: DURATION_S,
      warmupS: WARMUP_S,
      threads: THREADS,
      connections: CONNECTIONS,
      publishes: PUBLISHES,
    },
    notary: { url: anchor.url, gun: notarySide.gun, storage: "postgres" },
    notaryHttps: {
      url: notaryTls.url,
      gun: notaryHttpsSide.gun,
      storage: "postgres, the same database as notary",
      certificate: "ECDSA P-256",
    },
    notaryAuth: {
      url: notaryAuth.url,
      gun: notaryAuthSide.gun,
      storage: "postgres, the same database as notary",
      auth: "token, from Trustdock's token service",
    },
    trustdock: { url: td.url, gun: tdSide.gun, storage: "postgres" },
    backgroundBeforeReads: background,
    backgroundBeforePublishes: backgroundPublishes,
    lines,
    httpsLines,
    authLines,
    reads,
    publishMs: publish,
    errors,
  };
  await writeResults(RESULTS, result);
  return reportErrors();
}

await runBench(main, OVERALL_TIMEOUT_MS);
