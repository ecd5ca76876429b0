import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tlsMaterialPaths } from "../../server/tls/certificate-authority.js";
import { adminToken, httpsRequest } from "../support/http.js";
import { freePort, killGroup, spawnTrustdockUp, waitFor } from "../support/processes.js";
import { TestRepository, type TrustCall } from "../support/trust-repository.js";
import { ADMIN_PASSWORD } from "../support/trustdock.js";

// Publishes run back to back while the whole of `trustdock up` (server and signer) is killed with SIGKILL;
// after a restart every publish that was answered 200 must be there, and the history must go on.
describe("kill -9 of server and signer during publishes", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "trustdock-kill-"));
  let port: number;
  let child: ChildProcess | undefined;
  const td = () => ({
    url: `https://127.0.0.1:${port}`,
    tls: tlsMaterialPaths(join(dataDir, "tls")),
  });

  async function start(): Promise<void> {
    child = spawnTrustdockUp({
      TRUSTDOCK_DATA_DIR: dataDir,
      TRUSTDOCK_ADDR: `127.0.0.1:${port}`,
      TRUSTDOCK_SIGNER_ADDR: `127.0.0.1:${await freePort()}`,
      TRUSTDOCK_ADMIN_PASSWORD: ADMIN_PASSWORD,
      TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT: "kill-test-passphrase",
    });
    await waitFor("trustdock up answering", async () => {
      const res = await httpsRequest({
        url: `${td().url}/v2/`,
        ca: readFileSync(td().tls.caCert),
        timeoutMs: 1000,
      });
      return res.status === 401 ? true : undefined;
    });
  }

  beforeAll(async () => {
    port = await freePort();
    await start();
  });
  afterAll(() => {
    if (child) killGroup(child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("loses no acknowledged publish and leaves no half-written version", async () => {
    const gun = `127.0.0.1:${port}/library/durable`;
    const scope = `repository:${gun}:pull,push`;
    const call: TrustCall = async (method, path, body) => {
      const token = await adminToken(td(), scope);
      return httpsRequest({
        url: `${td().url}/v2/${gun}/_trust/${path}`,
        method,
        ca: readFileSync(td().tls.caCert),
        headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": body.contentType } : {}) },
        ...(body ? { body: body.body } : {}),
        timeoutMs: 5000,
      });
    };
    const repo = await TestRepository.create(call);

    const acknowledged = new Map<number, Buffer>();
    let version = 2;
    const publishNext = async () => {
      const res = await repo.publishTargets(version, {
        [`v${version}`]: { length: version, hashes: { sha256: "AAAA" } },
      });
      if (res.status === 200) acknowledged.set(version, res.bytes);
      version++;
    };

    for (let round = 0; round < 3; round++) {
      // Publish continuously, and pull the plug at a moment that lands inside some publish.
      const killAt = Date.now() + 300 + Math.floor(Math.random() * 400);
      const loop = (async () => {
        for (let i = 0; i < 200 && Date.now() < killAt + 2000; i++) {
          try {
            await publishNext();
          } catch {
            return; // the connection died with the server
          }
        }
      })();
      await new Promise((r) => setTimeout(r, killAt - Date.now()));
      if (child) killGroup(child);
      await loop;
      await start();
      // The next version may have been written and killed before the answer: start again after whatever is stored.
      const stored = JSON.parse((await call("GET", "tuf/targets.json")).body.toString()).signed
        .version as number;
      version = stored + 1;
    }

    // Enough publishes were answered around the kills for the check to mean something.
    expect(acknowledged.size).toBeGreaterThan(3);
    for (const [v, bytes] of acknowledged) {
      const res = await call("GET", `tuf/${v}.targets.json`);
      expect(res.status).toBe(200);
      expect(res.body.equals(bytes)).toBe(true);
    }
    const snapshot = JSON.parse((await call("GET", "tuf/snapshot.json")).body.toString());
    const targets = await call("GET", "tuf/targets.json");
    expect(snapshot.signed.meta.targets.length).toBe(targets.body.length);
    expect((await call("GET", "tuf/timestamp.json")).status).toBe(200);
    await publishNext();
    expect(acknowledged.has(version - 1)).toBe(true);
  }, 120_000);
});
