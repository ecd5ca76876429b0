import { type ChildProcess, execFile, spawn } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ensureTokenCertificate } from "../../server/auth/token-certificate.js";
import { issueCertificate, type PemPair } from "../../server/tls/certificate-authority.js";
import { adminToken, httpsRequest } from "../support/http.js";
import { commandExists, describeWithPeer } from "../support/peers.js";
import { freePort, waitFor } from "../support/processes.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../support/trustdock.js";

const execFileAsync = promisify(execFile);

/** Writes a leaf from Trustdock's CA as `<name>.crt` and `<name>.key`; returns their paths. */
function writeLeaf(dir: string, ca: PemPair, name: string, usage: "server" | "client" | "both") {
  const leaf = issueCertificate(ca, {
    commonName: name,
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    usage,
    days: 1,
  });
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  writeFileSync(cert, leaf.certPem);
  writeFileSync(key, leaf.keyPem, { mode: 0o600 });
  return { cert, key };
}

// Harbor runs the stock notary-server behind its own token service. Trustdock's token service can stand
// in the same way: notary-server is given Trustdock's token certificate as its rootcertbundle and takes
// Trustdock's tokens, which it looks up by their libtrust `kid`.
describeWithPeer(
  "notary-server and notary-signer 0.7",
  commandExists("notary-server") && commandExists("notary-signer") && commandExists("notary"),
  "a stock notary-server trusting Trustdock's token service",
  () => {
    let td: TestTrustdock;
    let dir: string;
    let notaryUrl: string;
    const children: ChildProcess[] = [];

    beforeAll(async () => {
      td = await startTestTrustdock();
      dir = mkdtempSync(join(tmpdir(), "trustdock-notary-auth-"));
      const ca = { certPem: readFileSync(td.tls.caCert, "utf8"), keyPem: readFileSync(td.tls.caKey, "utf8") };
      const signerTls = writeLeaf(dir, ca, "notary-signer", "server");
      const clientTls = writeLeaf(dir, ca, "notary-client", "client");
      const serverTls = writeLeaf(dir, ca, "notary-server", "server");
      const tokenCert = join(dir, "token.crt");
      await ensureTokenCertificate(td.db, tokenCert);

      const signerPort = await freePort();
      const serverPort = await freePort();
      writeFileSync(
        join(dir, "signer.json"),
        JSON.stringify({
          server: {
            grpc_addr: `127.0.0.1:${signerPort}`,
            tls_cert_file: signerTls.cert,
            tls_key_file: signerTls.key,
            client_ca_file: td.tls.caCert,
          },
          logging: { level: "error" },
          storage: { backend: "memory", default_alias: "a1" },
        }),
      );
      writeFileSync(
        join(dir, "server.json"),
        JSON.stringify({
          server: {
            http_addr: `127.0.0.1:${serverPort}`,
            tls_cert_file: serverTls.cert,
            tls_key_file: serverTls.key,
          },
          trust_service: {
            type: "remote",
            hostname: "localhost",
            port: String(signerPort),
            tls_ca_file: td.tls.caCert,
            key_algorithm: "ecdsa",
            tls_client_cert: clientTls.cert,
            tls_client_key: clientTls.key,
          },
          logging: { level: "error" },
          storage: { backend: "memory" },
          auth: {
            type: "token",
            options: {
              realm: `${td.url}/service/token`,
              service: "trustdock",
              issuer: "trustdock",
              rootcertbundle: tokenCert,
            },
          },
        }),
      );
      const start = (command: string, env: NodeJS.ProcessEnv = {}) => {
        const config = join(dir, `${command.replace("notary-", "")}.json`);
        const child = spawn(command, ["-config", config], {
          env: { ...process.env, ...env },
          stdio: "ignore",
        });
        children.push(child);
      };
      start("notary-signer", { NOTARY_SIGNER_A1: "signer-passphrase" });
      start("notary-server");
      notaryUrl = `https://127.0.0.1:${serverPort}`;
      await waitFor("notary-server answering", async () => {
        const res = await httpsRequest({ url: `${notaryUrl}/_notary_server/health`, ca: ca.certPem });
        return res.status === 200 ? true : undefined;
      });
    }, 60_000);

    afterAll(async () => {
      for (const child of children) child.kill("SIGKILL");
      await td?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const gun = () => `${td.hostPort}/library/behind-notary`;
    const rootUrl = () => `${notaryUrl}/v2/${gun()}/_trust/tuf/root.json`;

    it("lets the notary CLI publish and list with credentials checked by Trustdock", async () => {
      const env = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: dir,
        NOTARY_AUTH: Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64"),
        NOTARY_ROOT_PASSPHRASE: "root-passphrase",
        NOTARY_TARGETS_PASSPHRASE: "targets-passphrase",
        NOTARY_SNAPSHOT_PASSPHRASE: "snapshot-passphrase",
      };
      const notary = async (trustDir: string, ...args: string[]) => {
        const pending = execFileAsync(
          "notary",
          ["-s", notaryUrl, "-d", join(dir, trustDir), "--tlscacert", td.tls.caCert, ...args],
          { env, timeout: 30_000, encoding: "utf8" },
        );
        pending.child.stdin?.end();
        return (await pending).stdout;
      };
      writeFileSync(join(dir, "payload"), "signed through notary-server");
      await notary("trust", "init", gun());
      await notary("trust", "add", gun(), "v1", join(dir, "payload"));
      await notary("trust", "publish", gun());
      expect(await notary("fresh", "list", gun())).toMatch(/\bv1\b/);
    }, 120_000);

    it("serves a reader holding a Trustdock token", async () => {
      const token = await adminToken(td, `repository:${gun()}:pull`);
      const res = await httpsRequest({
        url: rootUrl(),
        headers: { authorization: `Bearer ${token}` },
        ca: readFileSync(td.tls.caCert),
      });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body.toString()).signed._type).toBe("Root");
    });

    it("refuses a token that carries Trustdock's key ID but another key's signature", async () => {
      const genuine = await adminToken(td, `repository:${gun()}:pull`);
      const [header = "", claims = ""] = genuine.split(".");
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const forged = sign("sha256", Buffer.from(`${header}.${claims}`), {
        key: privateKey,
        dsaEncoding: "ieee-p1363",
      }).toString("base64url");
      const res = await httpsRequest({
        url: rootUrl(),
        headers: { authorization: `Bearer ${header}.${claims}.${forged}` },
        ca: readFileSync(td.tls.caCert),
      });
      expect(res.status).toBe(401);
    });
  },
);
