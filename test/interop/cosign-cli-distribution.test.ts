import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { signatureTag } from "../../core/cosign/signature-manifest.js";
import { SIGSTORE_BUNDLE_MEDIA_TYPE } from "../../core/cosign/sigstore-bundle.js";
import { ensureTokenCertificate } from "../../server/auth/token-certificate.js";
import { trustdock } from "../support/cli.js";
import { adminToken, httpsRequest } from "../support/http.js";
import { commandExists, describeWithPeer } from "../support/peers.js";
import { freePort, waitFor } from "../support/processes.js";
import { sharedDir } from "../support/shared.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../support/trustdock.js";

const execFileAsync = promisify(execFile);
const MKIMG = join(sharedDir, "peers", "mkimg.sh");
const TEST_TIMEOUT_MS = 120_000;
const PASSWORD = "distribution-test-password";

// "Any OCI registry": the CNCF distribution registry 2.8, over TLS, taking Trustdock's tokens as Harbor's
// registry does. It has no referrers API, so Sigstore bundles go through the OCI 1.1 tag schema.
describeWithPeer(
  "docker-registry (CNCF distribution 2.8), skopeo and mkimg.sh",
  commandExists("docker-registry") && commandExists("skopeo") && existsSync(MKIMG),
  "trustdock sign and verify against a stock distribution registry",
  () => {
    let td: TestTrustdock;
    let dir: string;
    let registry: string;
    let child: ChildProcess | undefined;
    let digest: string;
    const creds = `admin:${ADMIN_PASSWORD}`;

    const env = () => ({
      DOCKER_CONFIG: join(dir, "docker"),
      TRUSTDOCK_CA: td.tls.caCert,
      COSIGN_PASSWORD: PASSWORD,
    });
    const image = `library/anchored`;

    beforeAll(async () => {
      td = await startTestTrustdock();
      dir = mkdtempSync(join(tmpdir(), "trustdock-cosign-distribution-"));
      const tokenCert = join(dir, "token.crt");
      await ensureTokenCertificate(td.db, tokenCert);
      const port = await freePort();
      registry = `127.0.0.1:${port}`;
      // JSON is YAML: distribution reads this as its config.
      writeFileSync(
        join(dir, "config.yml"),
        JSON.stringify({
          version: 0.1,
          storage: { filesystem: { rootdirectory: join(dir, "data") } },
          http: { addr: registry, tls: { certificate: td.tls.serverCert, key: td.tls.serverKey } },
          log: { level: "error" },
          auth: {
            token: {
              realm: `${td.url}/service/token`,
              service: "trustdock",
              issuer: "trustdock",
              rootcertbundle: tokenCert,
            },
          },
        }),
      );
      child = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: "ignore" });
      const ca = readFileSync(td.tls.caCert);
      await waitFor("the distribution registry answering", async () => {
        const res = await httpsRequest({ url: `https://${registry}/v2/`, ca });
        return res.status === 401 ? true : undefined;
      });
      mkdirSync(join(dir, "docker"));
      writeFileSync(
        join(dir, "docker", "config.json"),
        JSON.stringify({ auths: { [registry]: { auth: Buffer.from(creds).toString("base64") } } }),
      );
      const certDir = join(dir, "certs");
      mkdirSync(certDir);
      writeFileSync(join(certDir, "ca.crt"), ca);
      digest = (await execFileAsync("bash", [MKIMG, join(dir, "layout"), "anchored"])).stdout.trim();
      await execFileAsync("skopeo", [
        "copy",
        "--dest-creds",
        creds,
        "--dest-cert-dir",
        certDir,
        `oci:${join(dir, "layout")}:latest`,
        `docker://${registry}/${image}:v1`,
      ]);
      for (const name of ["alice", "bob"])
        expect(
          (await trustdock(["key", "generate", "--output-key-prefix", join(dir, name)], { env: env() })).code,
        ).toBe(0);
    }, TEST_TIMEOUT_MS);

    afterAll(async () => {
      child?.kill("SIGKILL");
      await td?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** A manifest from the distribution registry, with a Trustdock token as any client would get one. */
    async function manifest(reference: string): Promise<{ status: number; json: Record<string, unknown> }> {
      const token = await adminToken(td, `repository:${image}:pull`);
      const res = await httpsRequest({
        url: `https://${registry}/v2/${image}/manifests/${reference}`,
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
        },
        ca: readFileSync(td.tls.caCert),
      });
      return { status: res.status, json: res.status === 200 ? JSON.parse(res.body.toString()) : {} };
    }

    it(
      "signs in both layouts and verifies them, the bundle found through the sha256-<hex> tag schema",
      async () => {
        const ref = `${registry}/${image}:v1`;
        const classic = await trustdock(["sign", "--key", join(dir, "alice.key"), ref], { env: env() });
        expect(classic.code).toBe(0);
        const bundled = await trustdock(["sign", "--new-bundle-format", "--key", join(dir, "bob.key"), ref], {
          env: env(),
        });
        expect(bundled.code).toBe(0);

        expect((await manifest(signatureTag(digest))).status).toBe(200);
        const fallback = await manifest(digest.replace(":", "-"));
        expect(fallback.status).toBe(200);
        expect(fallback.json.mediaType).toBe("application/vnd.oci.image.index.v1+json");
        const listed = fallback.json.manifests as { artifactType: string; digest: string }[];
        expect(listed.map((m) => m.artifactType)).toEqual([SIGSTORE_BUNDLE_MEDIA_TYPE]);
        expect((await manifest(listed[0]?.digest ?? "")).json.subject).toMatchObject({ digest });

        const byAlice = await trustdock(["verify", "--key", join(dir, "alice.pub"), ref], { env: env() });
        expect(byAlice.code).toBe(0);
        expect(JSON.parse(byAlice.stdout)[0].critical.type).toBe("cosign container image signature");
        const byBob = await trustdock(["verify", "--key", join(dir, "bob.pub"), ref], { env: env() });
        expect(byBob.code).toBe(0);
        expect(JSON.parse(byBob.stdout)[0].critical.type).toBe("https://sigstore.dev/cosign/sign/v1");
        // Each key verifies its own signature only: the other layout's is not among the payloads printed.
        expect(JSON.parse(byAlice.stdout)).toHaveLength(1);
        expect(JSON.parse(byBob.stdout)).toHaveLength(1);
        expect(byAlice.stderr).toContain(`Verification for ${ref} --`);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "refuses when neither layout verifies, naming each signature's reason",
      async () => {
        const other = join(dir, "carol");
        expect(
          (await trustdock(["key", "generate", "--output-key-prefix", other], { env: env() })).code,
        ).toBe(0);
        const res = await trustdock(["verify", "--key", `${other}.pub`, `${registry}/${image}:v1`], {
          env: env(),
        });
        expect(res.code).toBe(1);
        expect(res.stderr).toMatch(
          /^Error: no matching signatures: signature 0 \(sha256:[0-9a-f]{64}\): the signature does not verify with the given key\n signature 1 \(sha256:[0-9a-f]{64}\): the bundle's DSSE signature does not verify with the given key\n$/,
        );
      },
      TEST_TIMEOUT_MS,
    );
  },
);
