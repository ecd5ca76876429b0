/**
 * `npm run bench:cosign`: what cosign enforcement costs a pull, measured inside one server process (no
 * network, no TLS: `inject` hands requests to the server's handlers, so the times are server time).
 *
 * 1. A pull with a cached verdict: manifest GET with enforcement on, against the same GET with content
 *    trust off; the goal is under 1 ms of server time per pull.
 * 2. A cold verification of an image with 10 signatures (10 layers of its `.sig` manifest, each by its
 *    own key; the project trusts one of them, and, as the worst case, all 10, each layer then being tried
 *    against every key): the verification as a cache miss runs it, reading from the registry's database
 *    and blob files; the same verification over the same bytes already in memory (the crypto and parsing
 *    alone); and the registry reads alone. Also a cold pull end to end.
 *
 * Settings (environment): BENCH_PULLS (2000 warm pulls per mode), BENCH_COLD (50 cold rounds),
 * BENCH_PG_PORT (55432: a fresh database on that PostgreSQL; if none answers, the embedded PGlite).
 * Results: test/bench/results/cosign-latest.json. A missed goal is printed, not fatal.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { publicKeyToPem } from "../../core/cosign/keys.js";
import { signatureTag } from "../../core/cosign/signature-manifest.js";
import { buildServer } from "../../server/app.js";
import { ensureAdmin } from "../../server/auth/ensure-admin.js";
import {
  type SignatureSource,
  verifyCosignSignatures,
} from "../../server/content-trust/cosign-verification.js";
import { registrySignatureSource } from "../../server/content-trust/registry-signature-source.js";
import { pushSignatureManifest, signedPayload } from "../../server/content-trust/testing/cosign-signing.js";
import { ProjectStore } from "../../server/projects/project-store.js";
import { RegistryStore } from "../../server/registry/registry-store.js";
import { basicAuth, registryClient } from "../../server/registry/testing/registry-client.js";
import { BlobStore } from "../../server/storage/blob-store.js";
import type { Db } from "../../server/storage/db.js";
import { PgDb } from "../../server/storage/pg-driver.js";
import { PgliteDb } from "../../server/storage/pglite-driver.js";
import type { TrustSigner } from "../../server/trust/trust-service.js";
import { intEnv, REPO, runFacts, writeResults } from "./harness.js";

const PULLS = intEnv("BENCH_PULLS", 2000, 100_000);
const COLD = intEnv("BENCH_COLD", 50, 1000);
const PG_PORT = intEnv("BENCH_PG_PORT", 55432, 65535);
const SIGNATURES = 10;
const CACHED_GOAL_MS = 1;
const OVERALL_TIMEOUT_MS = 10 * 60 * 1000;
const PASSWORD = "bench-admin-password";
const RESULTS = join(REPO, "test", "bench", "results", "cosign-latest.json");

const log = (line: string) => console.log(line);
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const start = process.hrtime.bigint();
  const result = await work();
  return [ms(start), result];
}

/** A fresh database on the local PostgreSQL, or the embedded one when none answers. */
async function openDatabase(): Promise<{ db: Db; driver: string; dispose(): Promise<void> }> {
  const adminUrl = `postgres://postgres@127.0.0.1:${PG_PORT}/postgres`;
  const name = `trustdock_cosign_bench_${process.pid}`;
  try {
    const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
  } catch (err) {
    log(`PostgreSQL at 127.0.0.1:${PG_PORT} unavailable (${(err as Error).message}): embedded PGlite`);
    const db = await PgliteDb.open();
    return { db, driver: "pglite", dispose: () => db.close() };
  }
  const db = new PgDb(adminUrl.replace(/\/postgres$/, `/${name}`));
  return {
    db,
    driver: "postgres",
    async dispose() {
      await db.close();
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** Everything the registry source returns for one image, read once: the verification without I/O. */
async function inMemory(
  source: SignatureSource,
  repository: string,
  digest: string,
): Promise<SignatureSource> {
  const tag = signatureTag(digest);
  const tagged = await source.manifestByTag(repository, tag);
  const referrers = await source.referrers(repository, digest);
  const blobs = new Map<string, Uint8Array | undefined>();
  const manifest = JSON.parse(Buffer.from(tagged?.content ?? new Uint8Array()).toString()) as {
    layers: { digest: string }[];
  };
  for (const layer of manifest.layers) blobs.set(layer.digest, await source.blob(layer.digest, 1024 * 1024));
  return {
    manifestByTag: async (_r, t) => (t === tag ? tagged : undefined),
    manifestByDigest: async () => undefined,
    referrers: async () => referrers,
    blob: async (d) => blobs.get(d),
    indexesHolding: async () => [],
  };
}

/** The reads a cold verification makes, with the same parallelism, and nothing else. */
async function readsOnly(source: SignatureSource, repository: string, digest: string): Promise<void> {
  const [tagged] = await Promise.all([
    source.manifestByTag(repository, signatureTag(digest)),
    source.referrers(repository, digest),
  ]);
  const manifest = JSON.parse(Buffer.from(tagged?.content ?? new Uint8Array()).toString()) as {
    layers: { digest: string }[];
  };
  await Promise.all(manifest.layers.map((l) => source.blob(l.digest, 1024 * 1024)));
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const dataDir = mkdtempSync(join(tmpdir(), "trustdock-cosign-bench-"));
  const database = await openDatabase();
  const { db } = database;
  const unusedSigner = {} as TrustSigner; // the bench publishes no Notary trust data
  const blobDir = join(dataDir, "blobs");
  const app = await buildServer({ db, signer: unusedSigner, blobDir });
  try {
    await ensureAdmin(db, PASSWORD);
    const auth = basicAuth("admin", PASSWORD);
    const registry = registryClient(app, auth);
    const projects = new ProjectStore(db);
    const project = await projects.create({ name: "bench", metadata: { public: "false" } });
    const keys: { privateKey: KeyObject; publicKey: KeyObject }[] = [];
    for (let i = 0; i < SIGNATURES; i++) keys.push(generateKeyPairSync("ec", { namedCurve: "P-256" }));
    // The project trusts the last signer's key: the other nine signatures are tried and do not verify.
    const release = keys[SIGNATURES - 1];
    if (!release) throw new Error("no keys");
    const added = await app.inject({
      method: "POST",
      url: "/api/v2.0/projects/bench/cosign-keys",
      headers: { authorization: auth },
      payload: { name: "release", public_key: publicKeyToPem(release.publicKey) },
    });
    if (added.statusCode !== 201) throw new Error(`adding a key: ${added.statusCode} ${added.body}`);
    const repository = "bench/app";
    const image = await registry.pushImage(repository, "v1", { content: "benchmarked" });
    await pushSignatureManifest(
      registry,
      repository,
      image.digest,
      keys.map((k) => signedPayload(k.privateKey, repository, image.digest)),
    );

    const pull = async () => {
      const res = await app.inject({
        method: "GET",
        url: `/v2/${repository}/manifests/v1`,
        headers: { authorization: auth, accept: "application/vnd.oci.image.manifest.v1+json" },
      });
      if (res.statusCode !== 200) throw new Error(`pull: ${res.statusCode} ${res.body}`);
    };
    const pullTimes = async (count: number) => {
      const times: number[] = [];
      for (let i = 0; i < count; i++) times.push((await timed(pull))[0]);
      return times;
    };
    const settle = () => new Promise((r) => setTimeout(r, 300)); // the project's NOTIFY reaches the caches

    log(
      `database: ${database.driver}; ${PULLS} pulls per mode, ${COLD} cold rounds, ${SIGNATURES} signatures`,
    );
    await pullTimes(PULLS);
    const offBefore = await pullTimes(PULLS);
    await projects.setMetadata(project.id, { enable_content_trust_cosign: "true" });
    await settle();
    await pull(); // the one cold verification; every pull after it finds the verdict cached
    const cached = await pullTimes(PULLS);

    const cold: number[] = [];
    for (let i = 0; i < COLD; i++) {
      // A push to the repository drops its verdicts, as a signature push would.
      await registry.pushManifest(
        repository,
        `bump-${i % 4}`,
        JSON.parse(image.bytes.toString()),
        image.mediaType,
      );
      cold.push((await timed(pull))[0]);
    }
    // Off again, so that warming up does not favour either mode.
    await projects.setMetadata(project.id, { enable_content_trust_cosign: "false" });
    await settle();
    const off = [...offBefore, ...(await pullTimes(PULLS))];

    const source = registrySignatureSource(new RegistryStore(db), await BlobStore.open(blobDir), db);
    const memory = await inMemory(source, repository, image.digest);
    const verifyFrom = async (from: SignatureSource, trusted: KeyObject[]) => {
      const verdict = await verifyCosignSignatures(from, repository, image.digest, trusted);
      if (!verdict.allowed) throw new Error("the benchmarked image does not verify");
    };
    const coldVerify: number[] = [];
    const crypto: number[] = [];
    const cryptoAllKeys: number[] = [];
    const reads: number[] = [];
    const oneKey = [release.publicKey];
    const allKeys = keys.map((k) => k.publicKey);
    for (let i = 0; i < COLD; i++) {
      coldVerify.push((await timed(() => verifyFrom(source, oneKey)))[0]);
      crypto.push((await timed(() => verifyFrom(memory, oneKey)))[0]);
      cryptoAllKeys.push((await timed(() => verifyFrom(memory, allKeys)))[0]);
      reads.push((await timed(() => readsOnly(source, repository, image.digest)))[0]);
    }

    const figures = {
      pullOffMedianMs: round3(median(off)),
      pullCachedMedianMs: round3(median(cached)),
      pullCachedMeanMs: round3(mean(cached)),
      enforcementCostMedianMs: round3(median(cached) - median(off)),
      coldPullMedianMs: round3(median(cold)),
      coldVerifyMedianMs: round3(median(coldVerify)),
      cryptoAndParsingMedianMs: round3(median(crypto)),
      cryptoAndParsingAllKeysTrustedMedianMs: round3(median(cryptoAllKeys)),
      registryReadsMedianMs: round3(median(reads)),
    };
    const cachedMet = figures.pullCachedMedianMs < CACHED_GOAL_MS;
    const readsDominate = figures.registryReadsMedianMs > figures.cryptoAndParsingMedianMs;
    log("");
    log(`pull, content trust off                 median ${figures.pullOffMedianMs} ms`);
    log(
      `pull, cosign on, verdict cached         median ${figures.pullCachedMedianMs} ms (mean ${figures.pullCachedMeanMs}); ` +
        `goal < ${CACHED_GOAL_MS} ms: ${cachedMet ? "met" : "MISSED"}; enforcement adds ${figures.enforcementCostMedianMs} ms`,
    );
    log(`pull, cosign on, verdict cold           median ${figures.coldPullMedianMs} ms`);
    log(`cold verification, ${SIGNATURES} signatures        median ${figures.coldVerifyMedianMs} ms`);
    log(`  of which crypto and parsing (in memory) median ${figures.cryptoAndParsingMedianMs} ms`);
    log(
      `  crypto and parsing, all 10 keys trusted median ${figures.cryptoAndParsingAllKeysTrustedMedianMs} ms (each layer tried against every key)`,
    );
    log(
      `  registry reads alone                  median ${figures.registryReadsMedianMs} ms: ` +
        `${readsDominate ? "reads dominate the crypto" : "the crypto dominates the reads"}`,
    );
    await writeResults(RESULTS, {
      ...runFacts(startedAt),
      database: database.driver,
      settings: { pulls: PULLS, cold: COLD, signatures: SIGNATURES },
      figures,
      goals: { cachedUnder1ms: cachedMet, readsDominateCrypto: readsDominate },
    });
  } finally {
    await app.close();
    await database.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const deadline = setTimeout(() => {
  console.error(`cosign bench: not done within ${OVERALL_TIMEOUT_MS / 60000} minutes`);
  process.exit(1);
}, OVERALL_TIMEOUT_MS);
deadline.unref();
main().catch((err: unknown) => {
  console.error(`cosign bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
