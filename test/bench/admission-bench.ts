/**
 * `npm run bench:admission`: the admission webhook under kube-apiserver-like load. Trustdock runs as
 * `trustdock up` does (its own process, HTTPS, embedded PGlite unless BENCH_DATABASE_URL is set), with
 * three images pushed to it and signed in its Notary trust data. 50 clients, each on one kept-alive
 * connection as kube-apiserver keeps them, send reviews of a Pod running those three images.
 *
 * Cold: the policy caches nothing (cacheTtlSeconds: 0), so every review resolves three tags and verifies
 * three repositories' trust data over HTTPS. Warm: the same with a 30 s cache (the policy file is edited
 * in place; Trustdock picks it up without a restart). The first review after start is timed on its own.
 *
 * Each phase is measured by two load generators in turn, at the same concurrency:
 * - node: the 50 clients in this Node process (https.Agent, one kept-alive socket each; each client's
 *   first review, which pays the TLS handshake, is not timed), BENCH_REVIEWS reviews per client. This
 *   process's own event loop, busy with 50 clients' TLS and JSON on the cores the server uses, adds its
 *   lag to every latency it measures.
 * - wrk: the same reviews from wrk (C, epoll, one connection per client, TLS handshake before its clock
 *   starts), for BENCH_WRK_SECONDS; every answer is checked to be a 200 that allows the Pod.
 *
 * Settings (environment): BENCH_CONCURRENCY (50), BENCH_REVIEWS (200 per client and phase),
 * BENCH_WRK_SECONDS (5), BENCH_WRK_THREADS (2),
 * BENCH_DATABASE_URL (an empty PostgreSQL database; unset: PGlite), BENCH_KEEP=1 keeps the temporary folder,
 * BENCH_TRUSTDOCK_NODE_OPTIONS (node flags for Trustdock, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 * Exits non-zero on errors (a service that does not start, a review answered other than allowed).
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { podReview } from "../../server/admission/testing/reviews.js";
import { TestRepository } from "../support/trust-repository.js";
import { intEnv, MAIN, runBench, startServer, workFolder } from "./harness.js";
import { get, send } from "./http.js";
import { type CpuUse, cpuBetween, cpuSnapshot, freePort, runOk } from "./proc.js";
import { runWrk, type WrkResult, writeWrkScript } from "./wrk.js";

const CONCURRENCY = intEnv("BENCH_CONCURRENCY", 50, 500);
const REVIEWS = intEnv("BENCH_REVIEWS", 200, 1000);
const WRK_SECONDS = intEnv("BENCH_WRK_SECONDS", 5, 60);
const WRK_THREADS = intEnv("BENCH_WRK_THREADS", 2, 8);
const OVERALL_TIMEOUT_MS = 10 * 60 * 1000;
const P99_GOAL_MS = 20;
const PASSWORD = "bench-admin-password";

interface Trustdock {
  url: string;
  hostPort: string;
  ca: string;
  /** The `trustdock up` process, which serves the webhook (its signer is a child process of its own). */
  pid: number;
}

function policy(hostPort: string, caFile: string, cacheTtlSeconds: number): string {
  return [
    "apiVersion: trustdock.dev/v1",
    "kind: AdmissionPolicy",
    `cacheTtlSeconds: ${cacheTtlSeconds}`,
    "registries:",
    `  "${hostPort}": { username: admin, password: ${PASSWORD}, caFile: ${JSON.stringify(caFile)} }`,
    "rules:",
    `  - images: ["${hostPort}/**"]`,
    "    verify: { notary: {} }",
    "",
  ].join("\n");
}

async function startTrustdock(work: string, policyFile: string): Promise<Trustdock> {
  const port = await freePort();
  let signerPort = await freePort();
  while (signerPort === port) signerPort = await freePort();
  const hostPort = `127.0.0.1:${port}`;
  const dataDir = join(work, "data");
  const env = {
    ...process.env,
    TRUSTDOCK_DATA_DIR: dataDir,
    TRUSTDOCK_ADDR: hostPort,
    TRUSTDOCK_SIGNER_ADDR: `127.0.0.1:${signerPort}`,
    TRUSTDOCK_ADMIN_PASSWORD: PASSWORD,
    TRUSTDOCK_ADMISSION_POLICY: policyFile,
    ...(process.env.BENCH_DATABASE_URL ? { TRUSTDOCK_DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
  };
  // The CA first: the policy names it as the CA of Trustdock's own registry.
  await runOk(process.execPath, [MAIN, "certs"], { env, timeoutMs: 60_000 });
  const caFile = join(dataDir, "tls", "ca.crt");
  writeFileSync(policyFile, policy(hostPort, caFile, 0));
  const nodeFlags = (process.env.BENCH_TRUSTDOCK_NODE_OPTIONS ?? "").split(" ").filter(Boolean);
  const ca = readFileSync(caFile, "utf8");
  const url = `https://${hostPort}`;
  const { pid } = await startServer({
    what: "Trustdock",
    cmd: process.execPath,
    args: [...nodeFlags, MAIN, "up"],
    env,
    logFile: join(work, "trustdock.log"),
    ready: async () => {
      const r = await get(`${url}/v2/`, { ca, timeoutMs: 2000 });
      return r.status === 401 || r.status === 200;
    },
    timeoutMs: 60_000,
  });
  return { url, hostPort, ca, pid };
}

const basic = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString("base64")}`;

async function pushSignedImage(td: Trustdock, repository: string): Promise<string> {
  const blob = async (bytes: Buffer) => {
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const r = await send("POST", `${td.url}/v2/${repository}/blobs/uploads/?digest=${digest}`, {
      ca: td.ca,
      headers: { authorization: basic, "content-type": "application/octet-stream" },
      body: bytes,
    });
    if (r.status !== 201) throw new Error(`blob push answered ${r.status}: ${r.body.slice(0, 200)}`);
    return { digest, size: bytes.length };
  };
  const config = await blob(Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", repository })));
  const layer = await blob(Buffer.from(`layer of ${repository}`));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
    }),
  );
  const put = await send("PUT", `${td.url}/v2/${repository}/manifests/v1`, {
    ca: td.ca,
    headers: { authorization: basic, "content-type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest,
  });
  if (put.status !== 201) throw new Error(`manifest push answered ${put.status}: ${put.body.slice(0, 200)}`);
  const digest = put.headers["docker-content-digest"] as string;
  const gun = `${td.hostPort}/${repository}`;
  await TestRepository.create(
    async (method, path, body) => {
      const r = await send(method, `${td.url}/v2/${gun}/_trust/${path}`, {
        ca: td.ca,
        headers: { authorization: basic, ...(body ? { "content-type": body.contentType } : {}) },
        ...(body ? { body: body.body } : {}),
      });
      return { status: r.status, body: Buffer.from(r.body) };
    },
    {
      v1: {
        length: manifest.length,
        hashes: { sha256: Buffer.from(digest.slice(7), "hex").toString("base64") },
      },
    },
  );
  return `${gun}:v1`;
}

/** One review over `agent`'s kept-alive connection: its latency in ms, and the refusal if it was refused. */
function review(td: Trustdock, agent: Agent, body: Buffer): Promise<{ ms: number; refusal?: string }> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const req = request(
      `${td.url}/admission/validate`,
      {
        method: "POST",
        agent,
        ca: td.ca,
        headers: { "content-type": "application/json", "content-length": String(body.length) },
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const ms = performance.now() - started;
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200) return reject(new Error(`review answered ${res.statusCode}: ${text}`));
          const answer = (
            JSON.parse(text) as { response: { allowed: boolean; status?: { message: string } } }
          ).response;
          resolvePromise(answer.allowed ? { ms } : { ms, refusal: answer.status?.message ?? "" });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("review timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

interface Phase {
  name: string;
  latencies: number[];
  refusals: string[];
  seconds: number;
}

async function phase(td: Trustdock, name: string, body: Buffer): Promise<Phase> {
  const latencies: number[] = [];
  const refusals: string[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: td.ca });
      try {
        // kube-apiserver keeps its connections to a webhook: the TLS handshake of each client's first
        // review is connection setup, not review latency, so that review is not timed.
        await review(td, agent, body);
        for (let i = 0; i < REVIEWS; i++) {
          const result = await review(td, agent, body);
          latencies.push(result.ms);
          if (result.refusal !== undefined) refusals.push(result.refusal);
        }
      } finally {
        agent.destroy();
      }
    }),
  );
  return {
    name,
    latencies: latencies.sort((a, b) => a - b),
    refusals,
    seconds: (performance.now() - started) / 1000,
  };
}

/** wrk POSTing `bodyFile` as a review; an answer that is not a 200 allowing the Pod counts as non200. */
function wrkReviewScript(work: string, bodyFile: string): string {
  return writeWrkScript(work, "review.lua", {
    request: `
local f = assert(io.open(${JSON.stringify(bodyFile)}, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"`,
    accept: `status == 200 and string.find(body, '"allowed":true', 1, true)`,
  });
}

interface WrkPhase extends WrkResult {
  cpu: CpuUse;
  /** How long the CPU was counted: wrk's run and its start and exit. */
  cpuSeconds: number;
}

async function wrkPhase(td: Trustdock, script: string): Promise<WrkPhase> {
  const before = cpuSnapshot();
  const result = await runWrk({
    url: `${td.url}/admission/validate`,
    script,
    threads: WRK_THREADS,
    connections: CONCURRENCY,
    durationS: WRK_SECONDS,
  });
  const e = result.socketErrors;
  if (result.non200 > 0 || e.connect + e.read + e.write + e.timeout > 0)
    throw new Error(`wrk: ${result.non200} reviews not allowed, socket errors ${JSON.stringify(e)}`);
  // What the server spent per review, and what else ran meanwhile: a figure that another process's work on
  // the same cores moves much less than it moves the latencies.
  const after = cpuSnapshot();
  const cpu = cpuBetween(before, after, {
    server: (p) => p.pid === td.pid,
    postgres: (p) => p.comm === "postgres",
    bench: (p) => p.pid === process.pid,
    other: () => true,
  });
  return { ...result, cpu, cpuSeconds: (after.at - before.at) / 1000 };
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
const ms = (n: number) => `${n.toFixed(1)} ms`;

async function usePolicy(td: Trustdock, policyFile: string, caFile: string, cacheTtlSeconds: number) {
  writeFileSync(policyFile, policy(td.hostPort, caFile, cacheTtlSeconds));
  // Trustdock looks at the policy file once a second at most; then one review picks it up (and, with a
  // cache, fills it).
  await new Promise((r) => setTimeout(r, 1100));
}

async function main(): Promise<number> {
  const work = workFolder("trustdock-admission-bench-", "logs, data");
  const policyFile = join(work, "policy.yaml");
  const caFile = join(work, "data", "tls", "ca.crt");
  const td = await startTrustdock(work, policyFile);
  const images = [];
  for (const name of ["web", "sidecar", "metrics"])
    images.push(await pushSignedImage(td, `library/bench-${name}`));
  const body = Buffer.from(JSON.stringify(podReview("default", images)));
  const bodyFile = join(work, "review.json");
  writeFileSync(bodyFile, body);
  const script = wrkReviewScript(work, bodyFile);
  const single = async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: td.ca });
    try {
      return await review(td, agent, body);
    } finally {
      agent.destroy();
    }
  };
  const first = await single();
  if (first.refusal !== undefined) throw new Error(`the signed Pod was refused: ${first.refusal}`);

  const coldName = "cold (no cache: 3 tags resolved, 3 repositories' trust data verified)";
  const cold = await phase(td, coldName, body);
  const coldWrk = await wrkPhase(td, script);
  await usePolicy(td, policyFile, caFile, 30);
  await single();
  const warmName = "warm (30 s verdict cache)";
  const warm = await phase(td, warmName, body);
  const warmWrk = await wrkPhase(td, script);

  console.log(
    `\nAdmission webhook: ${CONCURRENCY} concurrent clients, reviews of a 3-image Pod, kept-alive HTTPS, ` +
      `${process.env.BENCH_DATABASE_URL ? "PostgreSQL" : "PGlite"}`,
  );
  console.log(`first review after start (nothing cached, roots pinned on first use): ${ms(first.ms)}`);
  console.log("| phase | clients | reviews | refused | reviews/s | p50 | p90 | p99 | max |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const p of [cold, warm]) {
    const l = p.latencies;
    console.log(
      `| ${p.name} | node, ${REVIEWS} each | ${l.length} | ${p.refusals.length} | ${Math.round(l.length / p.seconds)} | ${ms(percentile(l, 50))} | ${ms(percentile(l, 90))} | ${ms(percentile(l, 99))} | ${ms(l[l.length - 1] ?? 0)} |`,
    );
  }
  for (const [name, w] of [
    [coldName, coldWrk],
    [warmName, warmWrk],
  ] as const) {
    const l = w.latencyMs;
    console.log(
      `| ${name} | wrk -t${WRK_THREADS}, ${WRK_SECONDS} s | ${w.requests} | 0 | ${Math.round(w.rps)} | ${ms(l.p50)} | ${ms(l.p90)} | ${ms(l.p99)} | |`,
    );
  }
  for (const [name, w] of [
    ["cold", coldWrk],
    ["warm", warmWrk],
  ] as const) {
    const c = w.cpu.byGroupPctOfCore;
    const perReviewUs = ((c.server ?? 0) / 100) * (w.cpuSeconds / Math.max(w.requests, 1)) * 1e6;
    const others = w.cpu.lastGroupTop.map((t) => `${t.comm} ${t.pct}%`).join(", ") || "none";
    console.log(
      `${name}, wrk: server ${Math.round(perReviewUs)} us CPU per review; % of a core: server ${c.server}, ` +
        `postgres ${c.postgres}, wrk ${Math.round((w.wrkCpuSeconds / w.cpuSeconds) * 100)}, this bench ${c.bench}, ` +
        `other ${c.other} (${others}); machine busy ${w.cpu.machineBusyPct}%`,
    );
  }
  for (const p of [cold, warm])
    if (p.refusals.length > 0) console.log(`${p.name}, first refusal: ${p.refusals[0]}`);
  for (const [how, p99] of [
    ["node clients", percentile(warm.latencies, 99)],
    ["wrk", warmWrk.latencyMs.p99],
  ] as const)
    console.log(
      `warm p99 (${how}) ${ms(p99)}: goal (< ${P99_GOAL_MS} ms) ${p99 < P99_GOAL_MS ? "met" : "MISSED"}`,
    );
  return warm.refusals.length > 0 ? 1 : 0;
}

await runBench(main, OVERALL_TIMEOUT_MS);
