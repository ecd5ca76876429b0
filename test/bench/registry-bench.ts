/**
 * `npm run bench:registry`: Trustdock's registry against the CNCF distribution registry 2.8, side by side
 * in one run. A 256 MiB blob pushed (monolithic POST + streamed PUT) and pulled with curl, manifest GETs by
 * tag under wrk, and the cost of content trust (manifest GET with `enable_content_trust` on, the image signed
 * in Notary by the notary CLI, vs off).
 *
 * distribution runs as registry-anchor-up.sh starts it (plain HTTP, filesystem, no auth), and a second one
 * serves HTTPS on its own storage, so that what TLS costs can be told apart. Trustdock runs as
 * `trustdock up` does (its own process, HTTPS, the token service): on PostgreSQL, and on embedded PGlite
 * unless BENCH_PGLITE=0; and beside each, one as `trustdock up --plain-http` runs it (plain HTTP, as behind
 * a proxy that terminates TLS), so that each transport is compared like for like: Trustdock over HTTP with
 * distribution over HTTP, Trustdock over HTTPS with distribution over HTTPS. Each client gets one token
 * from /service/token and reuses it, as docker does.
 *
 * Settings (environment): BENCH_DURATION_S (5), BENCH_WARMUP_S (1), BENCH_THREADS (2), BENCH_CONNECTIONS
 * (32), BENCH_BLOB_MIB (256), BENCH_BLOB_ROUNDS (3), BENCH_PULLS (3 per round), BENCH_TRUST_ROUNDS (2),
 * BENCH_PG_PORT (55432), BENCH_PGLITE (1), BENCH_KEEP=1 keeps the temporary folder (logs, data),
 * BENCH_PARTS (blobs,manifests,trust: which measurements to make), BENCH_TRUSTDOCK_NODE_OPTIONS (extra node
 * flags for the Trustdock processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them).
 *
 * Exits non-zero only on errors (a service that does not start, a wrong answer); a missed goal is printed.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import {
  backgroundLoad,
  basicAuth,
  errors,
  groupMemberNamed,
  intEnv,
  log,
  median,
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
  type Trustdock,
  trustdockToken,
  workFolder,
  writeResults,
} from "./harness.js";
import { get, send } from "./http.js";
import { type CpuUse, cpuBetween, cpuSnapshot, freePort, runOk, sleep, waitFor } from "./proc.js";
import { runWrk, type WrkResult, writeWrkScript } from "./wrk.js";

// ---------------------------------------------------------------- settings

const DURATION_S = intEnv("BENCH_DURATION_S", 5);
const WARMUP_S = intEnv("BENCH_WARMUP_S", 1);
const THREADS = intEnv("BENCH_THREADS", 2);
const CONNECTIONS = intEnv("BENCH_CONNECTIONS", 32);
const BLOB_MIB = intEnv("BENCH_BLOB_MIB", 256, 2048);
const BLOB_ROUNDS = intEnv("BENCH_BLOB_ROUNDS", 3, 10);
const PULLS = intEnv("BENCH_PULLS", 3, 20);
const TRUST_ROUNDS = intEnv("BENCH_TRUST_ROUNDS", 2, 10);
const PG_PORT = intEnv("BENCH_PG_PORT", 55432);
const WITH_PGLITE = process.env.BENCH_PGLITE !== "0";
const PARTS = new Set((process.env.BENCH_PARTS ?? "blobs,manifests,trust").split(",").map((p) => p.trim()));
const TRUSTDOCK_NODE_OPTIONS = (process.env.BENCH_TRUSTDOCK_NODE_OPTIONS ?? "").split(" ").filter(Boolean);
/** The whole bench, start to stop; past it, everything is stopped and the run fails. */
const OVERALL_TIMEOUT_MS = 20 * 60 * 1000;
/** One blob transfer; distribution moves 256 MiB in under 2 s here. */
const TRANSFER_TIMEOUT_MS = 120_000;
const CLI_TIMEOUT_MS = 120_000;
const GOALS = { push: 1, pull: 1, manifest: 3, enforcementOverhead: 0.15 } as const;
const CORES = cpus().length;

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
// What docker sends: distribution serves an OCI manifest only to a client that says it accepts one.
const MANIFEST_ACCEPT = [
  OCI_MANIFEST,
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

const RESULTS = join(REPO, "test", "bench", "results", "registry-latest.json");

// ---------------------------------------------------------------- distribution (the anchor)

async function startDistribution(work: string): Promise<{ url: string; pid: number }> {
  const port = await freePort();
  const { lastLine: hostPort, pgid } = await runPeerScript(
    "registry-anchor-up.sh",
    [String(port), join(work, "distribution")],
    "distribution",
  );
  const pid = groupMemberNamed(pgid, "docker-registry");
  if (!pid) throw new Error(`the distribution registry at ${hostPort} was not started by this bench`);
  return { url: `http://${hostPort}`, pid };
}

/**
 * A second distribution on its own storage that serves HTTPS (ECDSA P-256 certificate, as Trustdock's),
 * so that the cost of TLS can be told from the rest.
 */
async function startDistributionHttps(
  work: string,
): Promise<{ url: string; pid: number; ca: string; caFile: string }> {
  const dir = join(work, "distribution-https");
  mkdirSync(dir, { recursive: true });
  const caFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  await runOk(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"]
      .concat(["-keyout", keyFile, "-out", caFile, "-subj", "/CN=127.0.0.1"])
      .concat(["-addext", "subjectAltName=IP:127.0.0.1"]),
    { timeoutMs: 30_000 },
  );
  const port = await freePort();
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    [
      "version: 0.1",
      `storage: {filesystem: {rootdirectory: ${join(dir, "data")}}, delete: {enabled: true}}`,
      `http: {addr: 127.0.0.1:${port}, tls: {certificate: ${caFile}, key: ${keyFile}}}`,
      "log: {level: error}",
      "",
    ].join("\n"),
  );
  const url = `https://127.0.0.1:${port}`;
  const ca = readFileSync(caFile, "utf8");
  const { pid } = await startServer({
    what: "distribution (HTTPS)",
    cmd: "docker-registry",
    args: ["serve", config],
    logFile: join(dir, "registry.log"),
    ready: async () => (await get(`${url}/v2/`, { ca, timeoutMs: 2000 })).status === 200,
    timeoutMs: 30_000,
  });
  return { url, pid, ca, caFile };
}

// ---------------------------------------------------------------- the sides

type SideName =
  | "distribution"
  | "distribution-https"
  | "trustdock-pg"
  | "trustdock-pglite"
  | "trustdock-pg-http"
  | "trustdock-pglite-http";

interface Side {
  name: SideName;
  url: string;
  pid: number;
  /** The repository the side's manifests and blobs go to. */
  repository: string;
  ca?: string;
  caFile?: string;
  trustdock?: Trustdock;
  /** Headers every request carries: the token, got once per phase and reused (as docker does). */
  auth: Record<string, string>;
  refreshAuth(): Promise<void>;
}

function trustdockSide(name: SideName, td: Trustdock, repository: string): Side {
  // Over plain HTTP the client is given no CA, exactly as for distribution over plain HTTP.
  const tls = td.url.startsWith("https:") ? { ca: td.ca, caFile: td.caFile } : {};
  const side: Side = {
    name,
    url: td.url,
    pid: td.pid,
    repository,
    ...tls,
    trustdock: td,
    auth: {},
    refreshAuth: async () => {
      side.auth = { Authorization: `Bearer ${await trustdockToken(td, repository, "pull,push")}` };
    },
  };
  return side;
}

/** A request that must answer `expected`. */
async function must(
  side: Side,
  method: string,
  path: string,
  expected: number,
  opts: { headers?: Record<string, string>; body?: Uint8Array } = {},
) {
  const r = await send(method, `${side.url}${path}`, {
    headers: { ...side.auth, ...(opts.headers ?? {}) },
    ...(opts.body ? { body: opts.body } : {}),
    ...(side.ca ? { ca: side.ca } : {}),
  });
  if (r.status !== expected)
    throw new Error(
      `${side.name}: ${method} ${path} answered ${r.status}, not ${expected}: ${r.body.slice(0, 300)}`,
    );
  return r;
}

/** The upload URL a POST answered, absolute, ready for `digest=` to be added. */
function uploadUrl(side: Side, location: string | undefined): string {
  if (!location) throw new Error(`${side.name}: upload POST answered no Location`);
  const absolute = new URL(location, side.url).toString();
  return absolute + (absolute.includes("?") ? "&" : "?");
}

/** A small blob pushed with POST + PUT; its descriptor. */
async function pushSmallBlob(side: Side, bytes: Uint8Array, mediaType: string) {
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  const post = await must(side, "POST", `/v2/${side.repository}/blobs/uploads/`, 202);
  const put = `${uploadUrl(side, post.headers.location as string | undefined)}digest=${encodeURIComponent(digest)}`;
  await must(side, "PUT", put.slice(side.url.length), 201, {
    headers: { "Content-Type": "application/octet-stream" },
    body: bytes,
  });
  return { mediaType, digest, size: bytes.byteLength };
}

// ---------------------------------------------------------------- blobs

interface BigBlob {
  file: string;
  digest: string;
  size: number;
}

/** A fresh random blob each round, so every push is of a blob neither registry has seen. */
async function writeBlob(file: string): Promise<BigBlob> {
  const hash = createHash("sha256");
  const out = createWriteStream(file);
  const size = BLOB_MIB * 1024 * 1024;
  const chunk = 4 * 1024 * 1024;
  for (let at = 0; at < size; at += chunk) {
    const bytes = randomBytes(Math.min(chunk, size - at));
    hash.update(bytes);
    if (!out.write(bytes)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((ok, fail) => {
    out.once("error", fail);
    out.end(ok);
  });
  return { file, digest: `sha256:${hash.digest("hex")}`, size };
}

function curlArgs(side: Side): string[] {
  const args = ["-sS", "--max-time", String(TRANSFER_TIMEOUT_MS / 1000)];
  if (side.caFile) args.push("--cacert", side.caFile);
  for (const [name, value] of Object.entries(side.auth)) args.push("-H", `${name}: ${value}`);
  return args;
}

/** Monolithic upload: POST, then one PUT streaming the file (curl -T) with the digest. Wall time, ms. */
async function pushBlob(side: Side, blob: BigBlob): Promise<number> {
  const started = performance.now();
  const post = await runOk(
    "curl",
    [
      ...curlArgs(side),
      "-X",
      "POST",
      "-o",
      "/dev/null",
      "-D",
      "-",
      `${side.url}/v2/${side.repository}/blobs/uploads/`,
    ],
    { timeoutMs: TRANSFER_TIMEOUT_MS },
  );
  const location = /^location:\s*(\S+)/im.exec(post.stdout)?.[1];
  const put = await runOk(
    "curl",
    [
      ...curlArgs(side),
      "-H",
      "Expect:", // no 100-continue round trip, for either side
      "-H",
      "Content-Type: application/octet-stream",
      "-T",
      blob.file,
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `${uploadUrl(side, location)}digest=${encodeURIComponent(blob.digest)}`,
    ],
    { timeoutMs: TRANSFER_TIMEOUT_MS },
  );
  const ms = performance.now() - started;
  if (put.stdout.trim() !== "201") throw new Error(`${side.name}: blob PUT answered ${put.stdout.trim()}`);
  return ms;
}

/** A GET of the whole blob into /dev/null. Wall time, ms. */
async function pullBlob(side: Side, blob: BigBlob): Promise<number> {
  const r = await runOk(
    "curl",
    [
      ...curlArgs(side),
      "-o",
      "/dev/null",
      "-w",
      "%{http_code} %{size_download}",
      `${side.url}/v2/${side.repository}/blobs/${blob.digest}`,
    ],
    { timeoutMs: TRANSFER_TIMEOUT_MS },
  );
  if (r.stdout.trim() !== `200 ${blob.size}`)
    throw new Error(`${side.name}: blob GET answered "${r.stdout.trim()}", not 200 with ${blob.size} bytes`);
  return r.ms;
}

/** Outside the timings: the pulled bytes are the pushed ones. */
async function verifyPull(side: Side, blob: BigBlob): Promise<void> {
  const curl = [...curlArgs(side), `${side.url}/v2/${side.repository}/blobs/${blob.digest}`]
    .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
    .join(" ");
  const r = await runOk("bash", ["-c", `set -o pipefail; curl ${curl} | sha256sum`], {
    timeoutMs: TRANSFER_TIMEOUT_MS,
  });
  if (`sha256:${r.stdout.split(" ")[0]}` !== blob.digest)
    throw new Error(`${side.name}: the pulled blob's digest is not ${blob.digest}`);
}

/**
 * Untimed: writes out every dirty page (the blob file just made, what a registry that does not fsync left
 * behind), so that the kernel's writeback of one side's bytes does not run on the two cores while another
 * side is timed. The same before every transfer, on every side.
 */
async function quietDisk(): Promise<void> {
  await runOk("sync", [], { timeoutMs: TRANSFER_TIMEOUT_MS });
}

async function measureBlobs(sides: readonly Side[], work: string) {
  const push: Record<string, number[]> = {};
  const pull: Record<string, number[]> = {};
  for (const side of sides) {
    push[side.name] = [];
    pull[side.name] = [];
  }
  for (let round = 0; round < BLOB_ROUNDS; round++) {
    const blob = await writeBlob(join(work, "blob.bin"));
    for (const side of rotate(sides, round)) {
      await side.refreshAuth();
      await quietDisk();
      push[side.name]?.push(await pushBlob(side, blob));
      await verifyPull(side, blob);
    }
    for (let i = 0; i < PULLS; i++)
      for (const side of rotate(sides, round + i)) {
        await quietDisk();
        pull[side.name]?.push(await pullBlob(side, blob));
      }
    log(
      `blob round ${round + 1}/${BLOB_ROUNDS}: ${sides
        .map((s) => `${s.name} push ${(push[s.name]?.at(-1) ?? 0).toFixed(0)} ms`)
        .join(", ")}`,
    );
  }
  rmSync(join(work, "blob.bin"), { force: true });
  return { push, pull };
}

// ---------------------------------------------------------------- manifests

interface PushedManifest {
  tag: string;
  digest: string;
  bytes: Buffer;
}

/** An image manifest with a config and three small layers, as a `docker push` of a small image makes. */
async function pushImage(
  side: Side,
  tag: string,
  layerMediaType = "application/vnd.oci.image.layer.v1.tar+gzip",
) {
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", created: new Date().toISOString(), tag }),
  );
  const layers = [];
  for (let i = 0; i < 3; i++) layers.push(await pushSmallBlob(side, randomBytes(1024 + i), layerMediaType));
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: await pushSmallBlob(side, config, "application/vnd.oci.image.config.v1+json"),
    layers,
    annotations: { "org.opencontainers.image.created": new Date().toISOString() },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const r = await must(side, "PUT", `/v2/${side.repository}/manifests/${tag}`, 201, {
    headers: { "Content-Type": OCI_MANIFEST },
    body: bytes,
  });
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  if (r.headers["docker-content-digest"] !== digest)
    throw new Error(
      `${side.name}: manifest PUT answered digest ${r.headers["docker-content-digest"]}, not ${digest}`,
    );
  return { tag, digest, bytes } satisfies PushedManifest;
}

async function checkManifest(side: Side, m: PushedManifest, when: string): Promise<void> {
  const r = await must(side, "GET", `/v2/${side.repository}/manifests/${m.tag}`, 200, {
    headers: { Accept: MANIFEST_ACCEPT },
  });
  if (r.body !== m.bytes.toString("utf8") || r.headers["docker-content-digest"] !== m.digest)
    throw new Error(`${side.name} ${when}: GET manifests/${m.tag} served other bytes than were pushed`);
}

interface ManifestRun {
  side: SideName;
  what: string;
  wrk: WrkResult;
  cpu: CpuUse;
  /** CPU the server process spent per request: steadier than req/s when other work shares the cores. */
  serverCpuUsPerRequest: number;
}

async function measureManifest(
  side: Side,
  m: PushedManifest,
  what: string,
  script: string,
  groups: Parameters<typeof cpuBetween>[2],
): Promise<ManifestRun> {
  await side.refreshAuth();
  await checkManifest(side, m, `${what}, before the run`);
  const opts = {
    url: `${side.url}/v2/${side.repository}/manifests/${m.tag}`,
    script,
    threads: THREADS,
    connections: CONNECTIONS,
    headers: { ...side.auth, Accept: MANIFEST_ACCEPT },
  };
  const warm = await runWrk({ ...opts, durationS: WARMUP_S });
  if (warm.non200 > 0) errors.push(`${side.name} ${what} warm-up: ${warm.non200} non-200 responses`);
  const before = cpuSnapshot();
  const wrk = await runWrk({ ...opts, durationS: DURATION_S });
  const cpu = cpuBetween(before, cpuSnapshot(), groups);
  await checkManifest(side, m, `${what}, after the run`);
  recordWrkErrors(`${side.name} ${what}`, wrk);
  const g = cpu.byGroupPctOfCore;
  log(
    `${side.name.padEnd(17)} ${what.padEnd(26)} ${wrk.rps.toFixed(0).padStart(6)} req/s  p50 ${wrk.latencyMs.p50.toFixed(2)} ms  p99 ${wrk.latencyMs.p99.toFixed(2)} ms  ` +
      `machine ${cpu.machineBusyPct}% busy (server ${g.server}%, postgres ${g.postgres}%, others ${g.others}%)`,
  );
  const serverCpuUsPerRequest = (((g.server ?? 0) / 100) * wrk.durationS * 1e6) / Math.max(wrk.requests, 1);
  return { side: side.name, what, wrk, cpu, serverCpuUsPerRequest };
}

// ---------------------------------------------------------------- content trust

/** Signs `m` in the project's Notary trust data the way `DOCKER_CONTENT_TRUST=1 docker push` does. */
async function signWithNotary(side: Side, m: PushedManifest, work: string): Promise<void> {
  const td = side.trustdock;
  if (!td) throw new Error("only Trustdock has a trust API");
  const gun = `${td.hostPort}/${side.repository}`;
  const args = ["-s", td.url, "-d", join(work, `notary-${side.name}`), "--tlscacert", td.caFile];
  const env = {
    ...process.env,
    NOTARY_ROOT_PASSPHRASE: "bench-root-passphrase",
    NOTARY_TARGETS_PASSPHRASE: "bench-targets-passphrase",
    NOTARY_SNAPSHOT_PASSPHRASE: "bench-snapshot-passphrase",
    NOTARY_AUTH: Buffer.from(`admin:${td.password}`).toString("base64"),
  };
  const manifestFile = join(work, `manifest-${side.name}.json`);
  writeFileSync(manifestFile, m.bytes);
  await runOk("notary", [...args, "init", gun, "-p"], { env, timeoutMs: CLI_TIMEOUT_MS });
  await runOk("notary", [...args, "add", gun, m.tag, manifestFile, "-p"], { env, timeoutMs: CLI_TIMEOUT_MS });
}

async function setContentTrust(side: Side, notary: boolean): Promise<void> {
  const td = side.trustdock;
  if (!td) throw new Error("only Trustdock has projects");
  const body = Buffer.from(
    JSON.stringify({
      metadata: { enable_content_trust: String(notary), enable_content_trust_cosign: "false" },
    }),
  );
  const r = await send("PUT", `${td.url}/api/v2.0/projects/library`, {
    ca: td.ca,
    headers: { Authorization: basicAuth(td), "Content-Type": "application/json" },
    body,
  });
  if (r.status !== 200)
    throw new Error(`${side.name}: project update answered ${r.status}: ${r.body.slice(0, 200)}`);
}

/** Enforcement is really on: the signed image is served, an unsigned one refused with 412. */
async function checkEnforced(side: Side, signed: PushedManifest, unsigned: PushedManifest, what: string) {
  // Other processes learn of the change through NOTIFY: give it a moment, bounded.
  const refused = await waitFor(async () => {
    const r = await send("GET", `${side.url}/v2/${side.repository}/manifests/${unsigned.tag}`, {
      headers: { ...side.auth, Accept: MANIFEST_ACCEPT },
      ...(side.ca ? { ca: side.ca } : {}),
    });
    return r.status === 412;
  }, 5000);
  if (!refused) throw new Error(`${side.name}: with ${what} on, the unsigned image is still served`);
  await checkManifest(side, signed, `${what} on`);
}

// ---------------------------------------------------------------- report

interface Line {
  what: string;
  distribution: number;
  trustdock: number;
  unit: string;
  ratio: number;
  goal: string;
  met: boolean | undefined;
}

const fmt = (n: number, unit: string) =>
  !Number.isFinite(n)
    ? "n/a"
    : unit === "req/s"
      ? n.toFixed(0)
      : n.toFixed(unit === "ms" || unit === "µs" ? 0 : 2);

function table(title: string, column: string, lines: readonly Line[]): string[] {
  const out = [
    "",
    title,
    "",
    `${"".padEnd(46)}${column.padStart(20)}${"Trustdock".padStart(12)}${"ratio".padStart(9)}   goal`,
  ];
  for (const l of lines)
    out.push(
      `${`${l.what} (${l.unit})`.padEnd(46)}${fmt(l.distribution, l.unit).padStart(20)}${fmt(l.trustdock, l.unit).padStart(12)}${(Number.isFinite(l.ratio) ? `${l.ratio.toFixed(2)}x` : "").padStart(9)}   ${l.goal}${l.met === undefined ? "" : l.met ? "  goal met" : "  goal missed"}`,
    );
  return out;
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const started = new Date();
  const work = workFolder("registry-bench-", "logs, data");
  const repository = `library/bench-${started.getTime().toString(36)}${randomBytes(2).toString("hex")}`;

  const pgUrl = await startPostgres(PG_PORT);
  const distribution = await startDistribution(work);
  log(`distribution at ${distribution.url} (pid ${distribution.pid})`);
  const distributionTls = await startDistributionHttps(work);
  log(`distribution over HTTPS at ${distributionTls.url} (pid ${distributionTls.pid})`);
  const tdPg = await startTrustdock({
    label: "trustdock-pg",
    work,
    pgUrl,
    database: "trustdock_registry_bench",
    nodeOptions: TRUSTDOCK_NODE_OPTIONS,
  });
  log(`Trustdock on PostgreSQL at ${tdPg.url} (pid ${tdPg.pid}), log ${tdPg.logFile}`);
  const tdLite = WITH_PGLITE
    ? await startTrustdock({ label: "trustdock-pglite", work, nodeOptions: TRUSTDOCK_NODE_OPTIONS })
    : undefined;
  if (tdLite) log(`Trustdock on PGlite at ${tdLite.url} (pid ${tdLite.pid}), log ${tdLite.logFile}`);
  const tdPgHttp = await startTrustdock({
    label: "trustdock-pg-http",
    work,
    pgUrl,
    database: "trustdock_registry_bench_http",
    nodeOptions: TRUSTDOCK_NODE_OPTIONS,
    plainHttp: true,
  });
  log(
    `Trustdock on PostgreSQL, plain HTTP, at ${tdPgHttp.url} (pid ${tdPgHttp.pid}), log ${tdPgHttp.logFile}`,
  );
  const tdLiteHttp = WITH_PGLITE
    ? await startTrustdock({
        label: "trustdock-pglite-http",
        work,
        nodeOptions: TRUSTDOCK_NODE_OPTIONS,
        plainHttp: true,
      })
    : undefined;
  if (tdLiteHttp)
    log(
      `Trustdock on PGlite, plain HTTP, at ${tdLiteHttp.url} (pid ${tdLiteHttp.pid}), log ${tdLiteHttp.logFile}`,
    );

  const distSide: Side = {
    name: "distribution",
    url: distribution.url,
    pid: distribution.pid,
    repository,
    auth: {},
    refreshAuth: async () => {},
  };
  const tdSides = [trustdockSide("trustdock-pg", tdPg, repository)];
  if (tdLite) tdSides.push(trustdockSide("trustdock-pglite", tdLite, repository));
  const tdHttpSides = [trustdockSide("trustdock-pg-http", tdPgHttp, repository)];
  if (tdLiteHttp) tdHttpSides.push(trustdockSide("trustdock-pglite-http", tdLiteHttp, repository));
  const distTlsSide: Side = {
    name: "distribution-https",
    url: distributionTls.url,
    pid: distributionTls.pid,
    repository,
    ca: distributionTls.ca,
    caFile: distributionTls.caFile,
    auth: {},
    refreshAuth: async () => {},
  };
  const sides = [distSide, distTlsSide, ...tdSides, ...tdHttpSides];

  const groupsFor = (side: Side): Parameters<typeof cpuBetween>[2] => ({
    server: (s) => s.pid === side.pid,
    postgres: (s) => s.comm === "postgres",
    others: () => true,
  });
  const background = await backgroundLoad(groupsFor(distSide));

  // 1. blobs
  log(
    `blobs: ${BLOB_ROUNDS} rounds of a fresh ${BLOB_MIB} MiB blob, pushed once and pulled ${PULLS} times on each side`,
  );
  const blobs = PARTS.has("blobs") ? await measureBlobs(sides, work) : { push: {}, pull: {} };

  // 2. manifest GET by tag
  const script = writeWrkScript(work);
  const images = new Map<SideName, PushedManifest>();
  for (const side of sides) {
    await side.refreshAuth();
    images.set(side.name, await pushImage(side, "latest"));
  }
  const manifestRuns: ManifestRun[] = [];
  for (let round = 0; PARTS.has("manifests") && round < TRUST_ROUNDS; round++)
    for (const side of rotate(sides, round))
      manifestRuns.push(
        await measureManifest(
          side,
          images.get(side.name) as PushedManifest,
          "manifest GET by tag",
          script,
          groupsFor(side),
        ),
      );

  // 3. content trust on Trustdock: enforcement off vs on, taking turns
  const trustRuns: ManifestRun[] = [];
  for (const side of PARTS.has("trust") ? tdSides : []) {
    await side.refreshAuth();
    const signed = images.get(side.name) as PushedManifest;
    const unsigned = await pushImage(side, "unsigned");
    await signWithNotary(side, signed, work);
    for (let round = 0; round < TRUST_ROUNDS; round++) {
      await setContentTrust(side, false);
      await sleep(200);
      trustRuns.push(await measureManifest(side, signed, "enforcement off", script, groupsFor(side)));
      await setContentTrust(side, true);
      await checkEnforced(side, signed, unsigned, "enable_content_trust");
      trustRuns.push(await measureManifest(side, signed, "enable_content_trust", script, groupsFor(side)));
    }
    await setContentTrust(side, false);
  }

  // 4. report
  const rps = (runs: readonly ManifestRun[], side: SideName, what: string) =>
    median(runs.filter((r) => r.side === side && r.what === what).map((r) => r.wrk.rps));
  const lines: Record<string, Line[]> = {};
  const tables: string[] = [];
  // Each transport like for like, then Trustdock's default (HTTPS) against the anchor as it runs (HTTP).
  const comparisons: Array<{ side: Side; anchor: SideName; title: string; enforcement: boolean }> = [];
  for (const [i, side] of tdSides.entries()) {
    const http = tdHttpSides[i];
    if (http)
      comparisons.push({
        side: http,
        anchor: "distribution",
        title:
          "plain HTTP on both (Trustdock --plain-http, as behind a TLS proxy; distribution as the anchor runs it)",
        enforcement: false,
      });
    comparisons.push(
      { side, anchor: "distribution-https", title: "HTTPS on both", enforcement: false },
      {
        side,
        anchor: "distribution",
        title: "Trustdock over HTTPS (its default) against distribution over plain HTTP (the anchor)",
        enforcement: true,
      },
    );
  }
  for (const { side, anchor, title, enforcement } of comparisons) {
    const judged = (ratio: number, goal: number) => ({ goal: `>= ${goal}x`, met: ratio >= goal });
    const timeLine = (k: "push" | "pull", what: string, goal: number): Line => {
      const d = median(blobs[k][anchor] ?? []);
      const t = median(blobs[k][side.name] ?? []);
      return { what, distribution: d, trustdock: t, unit: "ms", ratio: d / t, ...judged(d / t, goal) };
    };
    const manifestD = rps(manifestRuns, anchor, "manifest GET by tag");
    const manifestT = rps(manifestRuns, side.name, "manifest GET by tag");
    const list = [
      timeLine("push", `${BLOB_MIB} MiB blob push, median`, GOALS.push),
      timeLine("pull", `${BLOB_MIB} MiB blob pull, median`, GOALS.pull),
      {
        what: "manifest GET by tag",
        distribution: manifestD,
        trustdock: manifestT,
        unit: "req/s",
        ratio: manifestT / manifestD,
        ...judged(manifestT / manifestD, GOALS.manifest),
      },
    ];
    if (enforcement) {
      const off = rps(trustRuns, side.name, "enforcement off");
      const overhead = (x: number) => off / x - 1;
      const on = rps(trustRuns, side.name, "enable_content_trust");
      const cpuPerRequest = (what: string) =>
        median(
          trustRuns
            .filter((r) => r.side === side.name && r.what === what)
            .map((r) => r.serverCpuUsPerRequest),
        );
      const cpuOff = cpuPerRequest("enforcement off");
      const cpuOn = cpuPerRequest("enable_content_trust");
      list.push({
        what: "  with enable_content_trust (Notary)",
        distribution: manifestD,
        trustdock: on,
        unit: "req/s",
        ratio: on / manifestD,
        goal: `costs ${(overhead(on) * 100).toFixed(1)}% vs off (${off.toFixed(0)} req/s), goal <= ${GOALS.enforcementOverhead * 100}%`,
        met: overhead(on) <= GOALS.enforcementOverhead,
      });
      list.push({
        what: "  server CPU per manifest GET, on vs off",
        distribution: Number.NaN,
        trustdock: cpuOn,
        unit: "µs",
        ratio: Number.NaN,
        goal: `costs ${((cpuOn / cpuOff - 1) * 100).toFixed(1)}% vs off (${cpuOff.toFixed(0)} µs): the same cost, less sensitive to other load`,
        met: undefined,
      });
    }
    lines[`${side.name} vs ${anchor}`] = list;
    tables.push(
      ...table(
        `Trustdock on ${side.name.startsWith("trustdock-pg-") || side.name === "trustdock-pg" ? "PostgreSQL" : "PGlite (embedded)"}; ${title}`,
        anchor,
        list,
      ),
    );
  }
  const header =
    "Trustdock vs CNCF distribution 2.8 (filesystem, no auth; plain HTTP as registry-anchor-up.sh runs it, and a second one serving HTTPS).\n" +
    "Trustdock serves HTTPS (and, as a second process per database, plain HTTP with --plain-http) and checks a bearer token on every request.\n" +
    `Blobs: ${BLOB_ROUNDS} fresh ${BLOB_MIB} MiB blobs, each pushed once (curl: POST, then PUT -T) and pulled ${PULLS} times (curl -o /dev/null) per side.\n` +
    `Manifests: wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION_S}s after ${WARMUP_S} s warm-up, ${TRUST_ROUNDS} runs each (median); ${CORES} cores shared by all.\n` +
    `Background load before the runs: machine ${background.machineBusyPct}% busy.`;
  console.log(["", header, ...tables, ""].join("\n"));

  const result = {
    ...runFacts(started),
    settings: {
      durationS: DURATION_S,
      warmupS: WARMUP_S,
      threads: THREADS,
      connections: CONNECTIONS,
      blobMiB: BLOB_MIB,
      blobRounds: BLOB_ROUNDS,
      pulls: PULLS,
      trustRounds: TRUST_ROUNDS,
    },
    background,
    lines,
    blobMs: blobs,
    manifestRuns,
    trustRuns,
    errors,
  };
  await writeResults(RESULTS, result);
  return reportErrors();
}

await runBench(main, OVERALL_TIMEOUT_MS);
