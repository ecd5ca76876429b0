import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePublicKeyPem } from "../../core/cosign/keys.js";
import {
  buildSignatureManifest,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  signatureTag,
} from "../../core/cosign/signature-manifest.js";
import { SIGSTORE_BUNDLE_MEDIA_TYPE } from "../../core/cosign/sigstore-bundle.js";
import { buildSimpleSigningPayload } from "../../core/cosign/simple-signing.js";
import { sha256Hex } from "../../core/digest.js";
import { trustdock } from "../support/cli.js";
import { adminToken, httpsRequest } from "../support/http.js";
import { describeWithPeer } from "../support/peers.js";
import { sigstoreVerify } from "../support/sigstore.js";
import {
  certDirTrusting,
  dockerConfigWith,
  makeImage,
  runOk,
  skopeoAndMkimgExist,
  skopeoCopy,
} from "../support/skopeo.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../support/trustdock.js";

const TEST_TIMEOUT_MS = 120_000;
const PASSWORD = "cosign-test-password";

interface Manifest {
  layers: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
}

describeWithPeer(
  "skopeo and ../shared/peers/mkimg.sh",
  skopeoAndMkimgExist(),
  "trustdock sign and verify against a registry",
  () => {
    let td: TestTrustdock;
    let scratch: string;
    let certDir: string;
    let dockerConfig: string;
    const digests: Record<string, string> = {};
    const creds = `admin:${ADMIN_PASSWORD}`;
    const requests: string[] = [];

    const env = () => ({
      DOCKER_CONFIG: dockerConfig,
      TRUSTDOCK_CA: td.tls.caCert,
      COSIGN_PASSWORD: PASSWORD,
    });
    const image = (repo: string, tag = "v1") => `${td.hostPort}/${repo}:${tag}`;
    const keyFile = (name: string) => join(scratch, `${name}.key`);
    const pubFile = (name: string) => join(scratch, `${name}.pub`);
    const skopeo = (args: string[]) => runOk("skopeo", args);
    const rawManifest = async (repo: string, tag: string) =>
      skopeo(["inspect", "--raw", "--creds", creds, "--cert-dir", certDir, `docker://${image(repo, tag)}`]);

    beforeAll(async () => {
      td = await startTestTrustdock();
      // What the server answered, seen from its HTTP server.
      td.app.server.on("request", (req: IncomingMessage, res: ServerResponse) => {
        res.on("finish", () => requests.push(`${req.method} ${req.url?.split("?")[0]} ${res.statusCode}`));
      });
      scratch = mkdtempSync(join(tmpdir(), "trustdock-cosign-cli-"));
      certDir = certDirTrusting(scratch, td.tls.caCert);
      // The CLI finds the registry's credentials where docker keeps them, never in a flag.
      dockerConfig = dockerConfigWith(scratch, td.hostPort, creds);
      for (const repo of [
        "library/app",
        "library/annotated",
        "library/bundled",
        "library/unsigned",
        "library/helped",
      ]) {
        const layout = join(scratch, repo.replace("/", "-"));
        digests[repo] = await makeImage(layout, `content of ${repo}`);
        await skopeoCopy(`oci:${layout}:latest`, `docker://${image(repo)}`, { creds, certDir });
      }
      for (const name of ["alice", "bob"]) {
        const made = await trustdock(["key", "generate", "--output-key-prefix", join(scratch, name)], {
          env: { COSIGN_PASSWORD: PASSWORD },
        });
        expect(made.code).toBe(0);
      }
    }, TEST_TIMEOUT_MS);
    afterAll(async () => {
      await td?.close();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    it(
      "signs a tag by its digest in cosign's .sig manifest, byte for byte, and verifies it with the key",
      async () => {
        const digest = digests["library/app"] as string;
        const signed = await trustdock(["sign", "--key", keyFile("alice"), image("library/app")], {
          env: env(),
        });
        expect(signed.stderr).toContain(
          `WARNING: Image reference ${image("library/app")} uses a tag, not a digest, to identify the image to sign.\n` +
            "    This can lead you to sign a different image than the intended one.",
        );
        expect(signed.stderr).toContain(`Pushing signature to: ${td.hostPort}/library/app\n`);
        expect(signed.code).toBe(0);

        const manifestText = await rawManifest("library/app", signatureTag(digest));
        const manifest = JSON.parse(manifestText) as Manifest;
        expect(manifest.layers).toHaveLength(1);
        const [layer] = manifest.layers;
        const payload = buildSimpleSigningPayload({
          dockerReference: `${td.hostPort}/library/app`,
          manifestDigest: digest,
          optional: null,
        });
        expect(layer?.mediaType).toBe(SIMPLE_SIGNING_MEDIA_TYPE);
        expect(layer?.digest).toBe(`sha256:${sha256Hex(payload)}`);
        // The manifest cosign itself would write for this layer.
        expect(manifestText).toBe(Buffer.from(buildSignatureManifest(manifest.layers).manifest).toString());

        const verified = await trustdock(["verify", "--key", pubFile("alice"), image("library/app")], {
          env: env(),
        });
        expect(verified.stderr).toBe(
          `\nVerification for ${image("library/app")} --\n` +
            "The following checks were performed on each of these signatures:\n" +
            "  - The cosign claims were validated\n" +
            "  - The signatures were verified against the specified public key\n",
        );
        expect(verified.code).toBe(0);
        expect(JSON.parse(verified.stdout)).toEqual([
          {
            critical: {
              identity: { "docker-reference": `${td.hostPort}/library/app` },
              image: { "docker-manifest-digest": digest },
              type: "cosign container image signature",
            },
            optional: null,
          },
        ]);
        // By digest, too: the same signature.
        const byDigest = await trustdock(
          ["verify", "--key", pubFile("alice"), `${td.hostPort}/library/app@${digest}`],
          { env: env() },
        );
        expect(byDigest.code).toBe(0);
        expect(byDigest.stderr).toContain(`Verification for ${td.hostPort}/library/app@${digest} --`);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "refuses another key with exit 1 and the reason, and an unsigned image",
      async () => {
        const digest = digests["library/app"] as string;
        const sig = JSON.parse(await rawManifest("library/app", signatureTag(digest))) as Manifest;
        const wrong = await trustdock(["verify", "--key", pubFile("bob"), image("library/app")], {
          env: env(),
        });
        expect(wrong.code).toBe(1);
        expect(wrong.stdout).toBe("");
        expect(wrong.stderr).toBe(
          `Error: no matching signatures: signature 0 (${sig.layers[0]?.digest}): the signature does not verify with the given key\n`,
        );

        const unsigned = await trustdock(["verify", "--key", pubFile("alice"), image("library/unsigned")], {
          env: env(),
        });
        expect(unsigned.code).toBe(1);
        expect(unsigned.stderr).toBe("Error: no signatures found\n");
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "signs -a annotations into the payload, and verify -a refuses a value the payload does not carry",
      async () => {
        const repo = "library/annotated";
        const signed = await trustdock(
          ["sign", "--key", keyFile("alice"), "-a", "env=prod", "-a", "team=core", image(repo)],
          { env: env() },
        );
        expect(signed.code).toBe(0);
        const ok = await trustdock(["verify", "--key", pubFile("alice"), "-a", "env=prod", image(repo)], {
          env: env(),
        });
        expect(ok.code).toBe(0);
        expect(ok.stderr).toContain(
          "  - The specified annotations were verified.\n  - The cosign claims were validated\n",
        );
        expect(JSON.parse(ok.stdout)[0].optional).toEqual({ env: "prod", team: "core" });

        const mismatch = await trustdock(
          ["verify", "--key", pubFile("alice"), "-a", "env=dev", image(repo)],
          {
            env: env(),
          },
        );
        expect(mismatch.code).toBe(1);
        expect(mismatch.stderr).toMatch(
          /^Error: no matching signatures: signature 0 \(sha256:[0-9a-f]{64}\): annotation env is "prod", not "dev"\n$/,
        );
        const missing = await trustdock(
          ["verify", "--key", pubFile("alice"), "-a", "owner=me", image(repo)],
          {
            env: env(),
          },
        );
        expect(missing.code).toBe(1);
        expect(missing.stderr).toContain('annotation owner is missing, not "me"');
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "a second signer is appended to the same .sig manifest; the same signer again is not",
      async () => {
        const digest = digests["library/app"] as string;
        const bySecond = await trustdock(
          ["sign", "--key", keyFile("bob"), `${td.hostPort}/library/app@${digest}`],
          {
            env: env(),
          },
        );
        expect(bySecond.code).toBe(0);
        expect(bySecond.stderr).not.toContain("WARNING");
        const after = JSON.parse(await rawManifest("library/app", signatureTag(digest))) as Manifest;
        expect(after.layers).toHaveLength(2);
        expect(after.layers.every((l) => l.annotations?.[SIGNATURE_ANNOTATION])).toBe(true);

        for (const name of ["alice", "bob"]) {
          const res = await trustdock(["verify", "--key", pubFile(name), image("library/app")], {
            env: env(),
          });
          expect(res.code).toBe(0);
          expect(JSON.parse(res.stdout)).toHaveLength(1);
        }

        // ECDSA signs differently each time, yet cosign's dupe detector sees the same signer and payload.
        requests.length = 0;
        expect(
          (await trustdock(["sign", "--key", keyFile("alice"), image("library/app")], { env: env() })).code,
        ).toBe(0);
        const again = JSON.parse(await rawManifest("library/app", signatureTag(digest))) as Manifest;
        expect(again.layers).toEqual(after.layers);
        // The payload and config blobs were there already: asked for with HEAD, never uploaded again.
        const blobHeads = requests.filter((r) =>
          /^HEAD \/v2\/library\/app\/blobs\/sha256:[0-9a-f]{64} 200$/.test(r),
        );
        expect(blobHeads).toHaveLength(2);
        expect(requests.filter((r) => r.includes("/blobs/uploads/"))).toEqual([]);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "--new-bundle-format pushes a Sigstore bundle referrer that verify and @sigstore/verify accept",
      async () => {
        const repo = "library/bundled";
        const digest = digests[repo] as string;
        const signed = await trustdock(
          ["sign", "--new-bundle-format", "--key", keyFile("alice"), image(repo)],
          {
            env: env(),
          },
        );
        expect(signed.code).toBe(0);

        const referrers = await fetchJson<{ manifests: { artifactType: string; digest: string }[] }>(
          `/v2/${repo}/referrers/${digest}`,
        );
        const referrer = referrers.manifests[0];
        expect(referrer?.artifactType).toBe(SIGSTORE_BUNDLE_MEDIA_TYPE);
        const manifest = await fetchJson<Manifest & { subject: { digest: string } }>(
          `/v2/${repo}/manifests/${referrer?.digest}`,
        );
        expect(manifest.subject.digest).toBe(digest);
        const bundleDigest = manifest.layers[0]?.digest as string;
        const bundleBytes = await fetchBytes(`/v2/${repo}/blobs/${bundleDigest}`);
        expect(`sha256:${sha256Hex(bundleBytes)}`).toBe(bundleDigest);

        const publicKey = parsePublicKeyPem(readFileSync(pubFile("alice"), "utf8"));
        expect(() => sigstoreVerify(bundleBytes, publicKey)).not.toThrow();

        const verified = await trustdock(["verify", "--key", pubFile("alice"), image(repo)], { env: env() });
        expect(verified.code).toBe(0);
        expect(JSON.parse(verified.stdout)).toEqual([
          {
            critical: {
              identity: { "docker-reference": `${td.hostPort}/${repo}` },
              image: { "docker-manifest-digest": digest },
              type: "https://sigstore.dev/cosign/sign/v1",
            },
            optional: {},
          },
        ]);
        const wrong = await trustdock(["verify", "--key", pubFile("bob"), image(repo)], { env: env() });
        expect(wrong.code).toBe(1);
        expect(wrong.stderr).toBe(
          `Error: no matching signatures: signature 0 (${bundleDigest}): the bundle's DSSE signature does not verify with the given key\n`,
        );
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "skopeo copies the image and its .sig tag to another repository, where it still verifies",
      async () => {
        const digest = digests["library/app"] as string;
        for (const tag of ["v1", signatureTag(digest)])
          await skopeoCopy(
            `docker://${image("library/app", tag)}`,
            `docker://${image("library/copied", tag)}`,
            {
              creds,
              certDir,
              preserveDigests: true,
            },
          );
        for (const name of ["alice", "bob"]) {
          const res = await trustdock(["verify", "--key", pubFile(name), image("library/copied")], {
            env: env(),
          });
          expect(res.code).toBe(0);
          expect(JSON.parse(res.stdout)[0].critical.image["docker-manifest-digest"]).toBe(digest);
        }
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "takes credentials from a docker credential helper named in credHelpers, and fails without any",
      async () => {
        const helperDir = join(scratch, "helper-bin");
        mkdirSync(helperDir, { recursive: true });
        const helper = join(helperDir, "docker-credential-trustdock-test");
        writeFileSync(
          helper,
          `#!/bin/sh\nread server\n[ "$1" = get ] && [ "$server" = "${td.hostPort}" ] || exit 1\n` +
            `printf '{"ServerURL":"%s","Username":"admin","Secret":"${ADMIN_PASSWORD}"}' "$server"\n`,
        );
        chmodSync(helper, 0o755);
        const helperConfig = join(scratch, "helper-config");
        mkdirSync(helperConfig, { recursive: true });
        writeFileSync(
          join(helperConfig, "config.json"),
          JSON.stringify({ credHelpers: { [td.hostPort]: "trustdock-test" } }),
        );
        const helperEnv = { ...env(), DOCKER_CONFIG: helperConfig, PATH: `${helperDir}:${process.env.PATH}` };
        const signed = await trustdock(["sign", "--key", keyFile("alice"), image("library/helped")], {
          env: helperEnv,
        });
        expect(signed.code).toBe(0);
        const res = await trustdock(["verify", "--key", pubFile("alice"), image("library/helped")], {
          env: helperEnv,
        });
        expect(res.stderr).toContain("Verification for");
        expect(res.code).toBe(0);

        const nobody = join(scratch, "no-credentials");
        mkdirSync(nobody, { recursive: true });
        const anonymous = await trustdock(["sign", "--key", keyFile("alice"), image("library/app")], {
          env: { ...env(), DOCKER_CONFIG: nobody },
        });
        expect(anonymous.code).toBe(1);
        // Pulls from the public library project are anonymous; the first write is what needs credentials.
        expect(anonymous.stderr).toContain(`Error: signing [${image("library/app")}]: `);
        expect(anonymous.stderr).toContain(` on ${td.hostPort}: 401 UNAUTHORIZED: authentication required\n`);
      },
      TEST_TIMEOUT_MS,
    );

    /** A registry read with a token for the admin, as any client would get one. */
    async function fetchBytes(path: string): Promise<Buffer> {
      const repository = /^\/v2\/(.+)\/(?:manifests|blobs|referrers)\//.exec(path)?.[1];
      const token = await adminToken(td, `repository:${repository}:pull`);
      const res = await httpsRequest({
        url: `${td.url}${path}`,
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
        },
        ca: readFileSync(td.tls.caCert),
      });
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.body.toString()}`);
      return res.body;
    }

    async function fetchJson<T>(path: string): Promise<T> {
      return JSON.parse((await fetchBytes(path)).toString("utf8")) as T;
    }
  },
);
