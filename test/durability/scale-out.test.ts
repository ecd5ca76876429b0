import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { metaMatches } from "../../core/tuf/generate.js";
import type { FileMeta } from "../../core/tuf/types.js";
import { GarbageCollector } from "../../server/registry/garbage-collector.js";
import { OCI_MANIFEST } from "../../server/registry/manifest-format.js";
import {
  pushUnderCollection,
  type RegistryCall,
} from "../../server/registry/testing/push-under-collection.js";
import { ociImageManifest, sha256 } from "../../server/registry/testing/registry-client.js";
import { BlobStore } from "../../server/storage/blob-store.js";
import { PgDb } from "../../server/storage/pg-driver.js";
import { type TlsMaterialPaths, tlsMaterialPaths } from "../../server/tls/certificate-authority.js";
import { TRUSTDOCK_BIN, trustdock } from "../support/cli.js";
import { adminToken, httpsRequest } from "../support/http.js";
import { publishBody } from "../support/multipart.js";
import { describeWithPeer, postgresTestUrl } from "../support/peers.js";
import { freePort, killGroup, spawnTrustdockUp, waitFor } from "../support/processes.js";
import { TestRepository, type TrustCall } from "../support/trust-repository.js";
import { ADMIN_PASSWORD } from "../support/trustdock.js";
import { signedBytes, targetsSigned } from "../support/tuf-builders.js";

const adminUrl = postgresTestUrl();

// Two server processes on one PostgreSQL database and one blob folder, as behind a load balancer: what one
// stores the other serves, trust publishes through both serialise, and garbage collection run from a
// third process leaves every stored image whole while both take pushes.
describeWithPeer(
  "PostgreSQL (TRUSTDOCK_TEST_DATABASE_URL)",
  adminUrl !== undefined,
  "two Trustdock server processes",
  () => {
    let dataDir: string;
    let tls: TlsMaterialPaths;
    const databaseName = `trustdock_test_${randomBytes(6).toString("hex")}`;
    let databaseUrl: string;
    let serverA: ChildProcess | undefined;
    let serverB: ChildProcess | undefined;
    let urlA: string;
    let urlB: string;
    let hostA: string;

    const adminQuery = async (sql: string) => {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      try {
        await admin.query(sql);
      } finally {
        await admin.end();
      }
    };
    const answering = (url: string) =>
      waitFor(`${url} answering`, async () => {
        const res = await httpsRequest({ url: `${url}/v2/`, ca: readFileSync(tls.caCert), timeoutMs: 1000 });
        return res.status === 401 ? true : undefined;
      });

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), "trustdock-scale-out-"));
      tls = tlsMaterialPaths(join(dataDir, "tls"));
      await adminQuery(`CREATE DATABASE ${databaseName}`);
      const url = new URL(adminUrl ?? "");
      url.pathname = `/${databaseName}`;
      databaseUrl = url.toString();
      const [portA, portB, signerPort] = [await freePort(), await freePort(), await freePort()];
      hostA = `127.0.0.1:${portA}`;
      urlA = `https://${hostA}`;
      urlB = `https://127.0.0.1:${portB}`;
      const env = {
        TRUSTDOCK_DATA_DIR: dataDir,
        TRUSTDOCK_DATABASE_URL: databaseUrl,
        TRUSTDOCK_ADMIN_PASSWORD: ADMIN_PASSWORD,
        TRUSTDOCK_SIGNER_ADDR: `127.0.0.1:${signerPort}`,
        TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT: "scale-out-passphrase",
      };
      // A runs with the signer and makes the TLS material in the shared folder; B then serves beside it.
      serverA = spawnTrustdockUp({ ...env, TRUSTDOCK_ADDR: hostA });
      await answering(urlA);
      serverB = spawn(process.execPath, [TRUSTDOCK_BIN, "server"], {
        env: { ...process.env, ...env, TRUSTDOCK_ADDR: `127.0.0.1:${portB}` },
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      await answering(urlB);
    }, 90_000);
    afterAll(async () => {
      for (const server of [serverA, serverB]) if (server) killGroup(server);
      rmSync(dataDir, { recursive: true, force: true });
      await adminQuery(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
    });

    /** Registry requests to one server with bearer tokens from its own token service, one per repository. */
    const registryCall = (url: string): RegistryCall => {
      const tokens = new Map<string, Promise<string>>();
      return async (method, path, opts = {}) => {
        const repository = /^\/v2\/(.+?)\/(blobs|manifests)\//.exec(path)?.[1] ?? "";
        let token = tokens.get(repository);
        if (!token) {
          token = adminToken({ url, tls }, `repository:${repository}:pull,push,delete`);
          tokens.set(repository, token);
        }
        return httpsRequest({
          url: `${url}${path}`,
          method,
          ca: readFileSync(tls.caCert),
          headers: { authorization: `Bearer ${await token}`, ...opts.headers },
          ...(opts.body !== undefined ? { body: opts.body } : {}),
        });
      };
    };

    it("serves through B, byte for byte, an image pushed through A, and a token of A's is good at B", async () => {
      const repo = "library/scaled-image";
      const [a, b] = [registryCall(urlA), registryCall(urlB)];
      const octets = { "content-type": "application/octet-stream" };
      const layer = randomBytes(300 * 1024);
      const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux" }));
      // The layer in a session begun on A, continued on B and finished on A: the session lives in the database.
      const started = await a("POST", `/v2/${repo}/blobs/uploads/`);
      expect(started.status).toBe(202);
      const location = String(started.headers.location);
      expect((await b("PATCH", location, { headers: octets, body: layer.subarray(0, 100_000) })).status).toBe(
        202,
      );
      const finished = await a("PUT", `${location}?digest=${sha256(layer)}`, {
        headers: octets,
        body: layer.subarray(100_000),
      });
      expect(finished.status).toBe(201);
      expect(
        (
          await a("POST", `/v2/${repo}/blobs/uploads/?digest=${sha256(config)}`, {
            headers: octets,
            body: config,
          })
        ).status,
      ).toBe(201);
      const manifest = ociImageManifest(config, [layer]);
      const put = await a("PUT", `/v2/${repo}/manifests/v1`, {
        headers: { "content-type": OCI_MANIFEST },
        body: manifest,
      });
      expect(put.status).toBe(201);

      for (const reference of ["v1", sha256(manifest)]) {
        const pulled = await b("GET", `/v2/${repo}/manifests/${reference}`, {
          headers: { accept: OCI_MANIFEST },
        });
        expect([reference, pulled.status, pulled.headers["docker-content-digest"]]).toEqual([
          reference,
          200,
          sha256(manifest),
        ]);
        expect(pulled.body.equals(manifest)).toBe(true);
      }
      for (const blob of [layer, config]) {
        const pulled = await b("GET", `/v2/${repo}/blobs/${sha256(blob)}`);
        expect(pulled.status).toBe(200);
        expect(pulled.body.equals(blob)).toBe(true);
      }
      const tokenOfA = await adminToken({ url: urlA, tls }, `repository:${repo}:pull`);
      const withTokenOfA = await httpsRequest({
        url: `${urlB}/v2/${repo}/manifests/v1`,
        ca: readFileSync(tls.caCert),
        headers: { authorization: `Bearer ${tokenOfA}`, accept: OCI_MANIFEST },
      });
      expect(withTokenOfA.status).toBe(200);
    }, 60_000);

    it("serialises Notary publishes to one GUN through both: one wins each version, the other is told 4xx", async () => {
      const gun = `${hostA}/library/scaled-trust`;
      const trustCall =
        (url: string): TrustCall =>
        async (method, path, body) => {
          const token = await adminToken({ url, tls }, `repository:${gun}:pull,push`);
          return httpsRequest({
            url: `${url}/v2/${gun}/_trust/${path}`,
            method,
            ca: readFileSync(tls.caCert),
            headers: {
              authorization: `Bearer ${token}`,
              ...(body ? { "content-type": body.contentType } : {}),
            },
            ...(body ? { body: body.body } : {}),
          });
        };
      const [callA, callB] = [trustCall(urlA), trustCall(urlB)];
      // `up` serves reads before its signer answers when the signer is slow to start (a loaded machine).
      const repo = await waitFor("a first publish", () => TestRepository.create(callA), 60_000);
      // Two clients holding the repository's targets key, one publishing through each server.
      const publish = async (call: TrustCall, version: number, target: string) => {
        const targets = { [target]: { length: version, hashes: { sha256: "AAAA" } } };
        const bytes = Buffer.from(signedBytes(targetsSigned(version, { targets }), repo.targetsKey));
        return { ...(await call("POST", "tuf/", await publishBody([{ role: "targets", bytes }]))), bytes };
      };

      const ROUNDS = 12;
      const winners = new Map<number, Buffer>();
      const refusals: string[] = [];
      for (let version = 2; version < 2 + ROUNDS; version++) {
        const answers = await Promise.all([
          publish(callA, version, `through-a-v${version}`),
          publish(callB, version, `through-b-v${version}`),
        ]);
        const won = answers.filter((answer) => answer.status === 200);
        const lost = answers.filter((answer) => answer.status !== 200);
        expect([version, won.length]).toEqual([version, 1]);
        for (const answer of lost) {
          expect([version, answer.status >= 400 && answer.status < 500]).toEqual([version, true]);
          refusals.push(JSON.parse(answer.body.toString()).errors?.[0]?.code);
        }
        winners.set(version, (won[0] as { bytes: Buffer }).bytes);
      }
      expect(new Set(refusals)).toEqual(new Set(["VERSION"]));

      // The stored history: each targets version once, the winner's; every snapshot names stored files.
      const db = new PgDb(databaseUrl);
      try {
        const files = await db.query<{ role: string; version: number; data: Uint8Array }>(
          "SELECT role, version, data FROM tuf_files WHERE gun = $1 ORDER BY role, version",
          [gun],
        );
        const of = (role: string) => files.filter((file) => file.role === role);
        expect(of("targets").map((file) => file.version)).toEqual(
          [...Array(ROUNDS + 1).keys()].map((i) => i + 1),
        );
        for (const [version, bytes] of winners)
          expect(Buffer.from(of("targets")[version - 1]?.data ?? []).equals(bytes)).toBe(true);
        const snapshots = of("snapshot");
        expect(snapshots.map((file) => file.version)).toEqual(
          [...Array(snapshots.length).keys()].map((i) => i + 1),
        );
        let describedTargets = 0;
        for (const snapshot of snapshots) {
          const meta = JSON.parse(Buffer.from(snapshot.data).toString()).signed.meta as Record<
            string,
            FileMeta
          >;
          const targets = of("targets").find((file) => meta.targets && metaMatches(meta.targets, file.data));
          const root = of("root").find((file) => meta.root && metaMatches(meta.root, file.data));
          expect([snapshot.version, targets !== undefined, root !== undefined]).toEqual([
            snapshot.version,
            true,
            true,
          ]);
          // Snapshots only move forward: no snapshot goes back to an older targets.
          expect(targets?.version ?? 0).toBeGreaterThanOrEqual(describedTargets);
          describedTargets = targets?.version ?? 0;
        }
        expect(describedTargets).toBe(ROUNDS + 1);
      } finally {
        await db.close();
      }
      // Both servers agree on the current state.
      for (const call of [callA, callB])
        expect((await call("GET", "tuf/targets.json")).body.equals(winners.get(ROUNDS + 1) as Buffer)).toBe(
          true,
        );
    }, 120_000);

    it("leaves every stored image whole while both take pushes and a third process collects garbage with no grace", async () => {
      const db = new PgDb(databaseUrl);
      try {
        const collector = new GarbageCollector(db, await BlobStore.open(join(dataDir, "blobs")));
        const outcome = await pushUnderCollection({
          repositories: ["library/scaled-race-a", "library/scaled-race-b"],
          clients: [registryCall(urlA), registryCall(urlB)],
          collect: () => collector.collect({ graceMs: 0 }),
          durationMs: 10_000,
          // Over HTTPS a push takes longer: collections a little apart let enough of them through.
          pauseMs: 200,
        });
        expect(outcome.pushed).toBeGreaterThanOrEqual(3);
        expect(outcome.blobsPushedAgain).toBeGreaterThan(0);
        expect(outcome.collectedBlobs).toBeGreaterThan(0);
        expect(outcome.broken).toEqual([]);
        const blobs = await BlobStore.open(join(dataDir, "blobs"));
        for (const row of await db.query<{ digest: string; size: string }>(
          "SELECT digest, size FROM registry_blobs",
        ))
          expect([row.digest, await blobs.size(row.digest)]).toEqual([row.digest, Number(row.size)]);
      } finally {
        await db.close();
      }
      // The command, with the servers' own environment and beside them, removes a blob pushed through A
      // that nothing names (everything else collectable went in the last collection above).
      const orphan = randomBytes(4321);
      const pushed = await registryCall(urlA)(
        "POST",
        `/v2/library/scaled-orphan/blobs/uploads/?digest=${sha256(orphan)}`,
        {
          headers: { "content-type": "application/octet-stream" },
          body: orphan,
        },
      );
      expect(pushed.status).toBe(201);
      const gc = await trustdock(["gc", "--grace", "0s"], {
        env: { TRUSTDOCK_DATA_DIR: dataDir, TRUSTDOCK_DATABASE_URL: databaseUrl },
      });
      expect([gc.code, gc.stderr]).toEqual([0, ""]);
      expect(gc.stdout.trim().split("\n")).toEqual([
        `removed blob ${sha256(orphan)} (4321 bytes)`,
        "removed: 1 blob (4321 bytes), 0 uploads (0 bytes), 0 stray files (0 bytes)",
      ]);
      const gone = await registryCall(urlB)("HEAD", `/v2/library/scaled-orphan/blobs/${sha256(orphan)}`);
      expect(gone.status).toBe(404);
    }, 120_000);
  },
);
