import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeOnEachDatabase } from "../../test/support/databases.js";
import { httpsRequest } from "../../test/support/http.js";
import { freePort, killGroup, spawnTrustdockUp, waitFor } from "../../test/support/processes.js";
import { ADMIN_PASSWORD } from "../../test/support/trustdock.js";
import { OCI_MANIFEST } from "./manifest-format.js";
import { basicAuth, ociImageManifest } from "./testing/registry-client.js";

const ADMIN_BASIC = basicAuth("admin", ADMIN_PASSWORD);

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

// Blobs and manifests are pushed back to back while `trustdock up` is killed with SIGKILL; after a restart,
// everything that was answered 201 must be served, byte for byte.
describeOnEachDatabase("kill -9 of the server during registry pushes", (databases) => {
  const dataDir = mkdtempSync(join(tmpdir(), "trustdock-registry-kill-"));
  let port: number;
  let child: ChildProcess | undefined;
  let databaseUrl: string | undefined;
  let disposeDb: () => Promise<void>;

  const url = () => `https://127.0.0.1:${port}`;
  const ca = () => readFileSync(join(dataDir, "tls", "ca.crt"));
  const call = (method: string, path: string, body?: Buffer, contentType = "application/octet-stream") =>
    httpsRequest({
      url: `${url()}${path}`,
      method,
      ca: ca(),
      headers: { authorization: ADMIN_BASIC, "content-type": contentType },
      ...(body ? { body } : {}),
      timeoutMs: 5000,
    });

  async function start(): Promise<void> {
    child = spawnTrustdockUp({
      TRUSTDOCK_DATA_DIR: dataDir,
      TRUSTDOCK_ADDR: `127.0.0.1:${port}`,
      TRUSTDOCK_SIGNER_ADDR: `127.0.0.1:${await freePort()}`,
      TRUSTDOCK_ADMIN_PASSWORD: ADMIN_PASSWORD,
      TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT: "kill-test-passphrase",
      ...(databaseUrl ? { TRUSTDOCK_DATABASE_URL: databaseUrl } : {}),
    });
    await waitFor("trustdock up answering", async () => {
      const res = await httpsRequest({ url: `${url()}/v2/`, ca: ca(), timeoutMs: 1000 });
      return res.status === 401 ? true : undefined;
    });
  }

  beforeAll(async () => {
    const target = await databases.create();
    databaseUrl = target.url;
    disposeDb = target.dispose;
    port = await freePort();
    await start();
  }, 60_000);
  afterAll(async () => {
    if (child) killGroup(child);
    rmSync(dataDir, { recursive: true, force: true });
    await disposeDb();
  });

  it("loses no blob or manifest that was answered 201", async () => {
    const repo = "library/durable";
    const blobs = new Map<string, Buffer>();
    const manifests = new Map<string, Buffer>();

    /** One image: a layer (chunked upload), a config (monolithic) and the manifest naming both. */
    const pushImage = async (): Promise<void> => {
      const layer = randomBytes(256 * 1024);
      const start = await call("POST", `/v2/${repo}/blobs/uploads/`);
      if (start.status !== 202) return;
      const location = String(start.headers.location);
      await call("PATCH", location, layer);
      if ((await call("PUT", `${location}?digest=${sha256(layer)}`)).status === 201)
        blobs.set(sha256(layer), layer);

      const config = Buffer.from(
        JSON.stringify({ os: "linux", architecture: "amd64", nonce: randomBytes(8).toString("hex") }),
      );
      if ((await call("POST", `/v2/${repo}/blobs/uploads/?digest=${sha256(config)}`, config)).status !== 201)
        return;
      blobs.set(sha256(config), config);

      const manifest = ociImageManifest(config, [layer]);
      const put = await call("PUT", `/v2/${repo}/manifests/${sha256(manifest)}`, manifest, OCI_MANIFEST);
      if (put.status === 201) manifests.set(sha256(manifest), manifest);
    };

    for (let round = 0; round < 3; round++) {
      const killAt = Date.now() + 300 + Math.floor(Math.random() * 500);
      const loop = (async () => {
        while (Date.now() < killAt + 2000) {
          try {
            await pushImage();
          } catch {
            return; // the connection died with the server
          }
        }
      })();
      await new Promise((r) => setTimeout(r, killAt - Date.now()));
      if (child) killGroup(child);
      await loop;
      await start();
    }

    expect(manifests.size).toBeGreaterThan(3);
    for (const [digest, bytes] of blobs) {
      const res = await call("GET", `/v2/${repo}/blobs/${digest}`);
      expect([digest, res.status]).toEqual([digest, 200]);
      expect(res.body.equals(bytes)).toBe(true);
    }
    for (const [digest, bytes] of manifests) {
      const res = await call("GET", `/v2/${repo}/manifests/${digest}`);
      expect([digest, res.status]).toEqual([digest, 200]);
      expect(res.body.equals(bytes)).toBe(true);
    }
  }, 180_000);
});
