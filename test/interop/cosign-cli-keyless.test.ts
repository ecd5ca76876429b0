import { KeyObject } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, loadPrivateKey } from "../../core/cosign/keys.js";
import { signPayload } from "../../core/cosign/signature.js";
import {
  buildSignatureManifest,
  CERTIFICATE_ANNOTATION,
  type Descriptor,
  OCI_MANIFEST_MEDIA_TYPE,
  SIGNATURE_ANNOTATION,
  type SignatureLayerContent,
  signatureLayerDescriptor,
  signatureTag,
} from "../../core/cosign/signature-manifest.js";
import { buildSimpleSigningPayload } from "../../core/cosign/simple-signing.js";
import { certificateAuthority, fulcioLeaf } from "../../core/cosign/testdata/certificates.js";
import { sha256Hex } from "../../core/digest.js";
import { toBase64 } from "../../core/encoding.js";
import { trustdock } from "../support/cli.js";
import { describeWithPeer } from "../support/peers.js";
import {
  certDirTrusting,
  dockerConfigWith,
  makeImage,
  skopeoAndMkimgExist,
  skopeoCopy,
} from "../support/skopeo.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../support/trustdock.js";

const TEST_TIMEOUT_MS = 120_000;

/**
 * Signature manifests made here rather than by `trustdock sign` (keyless ones, tampered ones), written
 * to an OCI layout and pushed by skopeo, so what verify reads came through an independent client.
 */
describeWithPeer(
  "skopeo and ../shared/peers/mkimg.sh",
  skopeoAndMkimgExist(),
  "trustdock verify of keyless and tampered signatures pushed by skopeo",
  () => {
    let td: TestTrustdock;
    let scratch: string;
    let certDir: string;
    const creds = `admin:${ADMIN_PASSWORD}`;
    const digests: Record<string, string> = {};
    const image = (repo: string, tag = "v1") => `${td.hostPort}/${repo}:${tag}`;
    const env = () => ({ DOCKER_CONFIG: join(scratch, "docker"), TRUSTDOCK_CA: td.tls.caCert });

    beforeAll(async () => {
      td = await startTestTrustdock();
      scratch = mkdtempSync(join(tmpdir(), "trustdock-cosign-keyless-"));
      certDir = certDirTrusting(scratch, td.tls.caCert);
      dockerConfigWith(scratch, td.hostPort, creds);
      for (const repo of ["library/keyless", "library/tampered"]) {
        const layout = join(scratch, repo.replace("/", "-"));
        digests[repo] = await makeImage(layout, `content of ${repo}`);
        await copyIn(`oci:${layout}:latest`, image(repo));
      }
    }, TEST_TIMEOUT_MS);
    afterAll(async () => {
      await td?.close();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    const copyIn = (from: string, to: string) =>
      skopeoCopy(from, `docker://${to}`, { creds, certDir, preserveDigests: true });

    /** The `.sig` manifest of `repo`'s image holding these layers, pushed by skopeo from an OCI layout. */
    async function pushSignatures(repo: string, layers: { descriptor: Descriptor; content: Uint8Array }[]) {
      const layout = join(
        scratch,
        `sig-${sha256Hex(Buffer.from(JSON.stringify(layers.map((l) => l.descriptor))))}`,
      );
      const blobs = join(layout, "blobs", "sha256");
      mkdirSync(blobs, { recursive: true });
      const put = (bytes: Uint8Array) => writeFileSync(join(blobs, sha256Hex(bytes)), bytes);
      const { manifest, config } = buildSignatureManifest(layers.map((l) => l.descriptor));
      for (const layer of layers) put(layer.content);
      put(config);
      put(manifest);
      writeFileSync(join(layout, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
      writeFileSync(
        join(layout, "index.json"),
        JSON.stringify({
          schemaVersion: 2,
          manifests: [
            {
              mediaType: OCI_MANIFEST_MEDIA_TYPE,
              digest: `sha256:${sha256Hex(manifest)}`,
              size: manifest.byteLength,
              annotations: { "org.opencontainers.image.ref.name": "sig" },
            },
          ],
        }),
      );
      await copyIn(`oci:${layout}:sig`, image(repo, signatureTag(digests[repo] as string)));
    }

    function layer(content: SignatureLayerContent) {
      return { descriptor: signatureLayerDescriptor(content), content: content.payload };
    }

    function payloadFor(repo: string, manifestDigest = digests[repo] as string) {
      return buildSimpleSigningPayload({
        dockerReference: `${td.hostPort}/${repo}`,
        manifestDigest,
        optional: null,
      });
    }

    it(
      "verifies a certificate-carrying signature against --certificate-chain with identity and issuer",
      async () => {
        const repo = "library/keyless";
        const root = await certificateAuthority("CN=test fulcio root");
        const leaf = await fulcioLeaf(root, {
          email: "alice@example.com",
          issuerV2: "https://issuer.example",
        });
        const signer = KeyObject.from(leaf.keys.privateKey);
        const payload = payloadFor(repo);
        await pushSignatures(repo, [
          layer({
            payload,
            annotations: {
              [SIGNATURE_ANNOTATION]: toBase64(signPayload(signer, payload)),
              [CERTIFICATE_ANNOTATION]: leaf.pem,
            },
          }),
        ]);
        const rootFile = join(scratch, "root.pem");
        writeFileSync(rootFile, root.pem);
        const keyless = (identity: string) =>
          trustdock(
            [
              "verify",
              "--certificate-chain",
              rootFile,
              "--certificate-identity",
              identity,
              "--certificate-oidc-issuer",
              "https://issuer.example",
              image(repo),
            ],
            { env: env() },
          );

        const ok = await keyless("alice@example.com");
        expect(ok.stderr).toBe(
          `\nVerification for ${image(repo)} --\n` +
            "The following checks were performed on each of these signatures:\n" +
            "  - The cosign claims were validated\n" +
            "  - The code-signing certificate was verified using trusted certificate authority certificates\n",
        );
        expect(ok.code).toBe(0);
        expect(JSON.parse(ok.stdout)[0].optional).toEqual({
          "1.3.6.1.4.1.57264.1.1": "https://issuer.example",
          Issuer: "https://issuer.example",
          Subject: "alice@example.com",
        });

        const other = await keyless("mallory@example.com");
        expect(other.code).toBe(1);
        expect(other.stderr).toMatch(
          /^Error: no matching signatures: signature 0 \(sha256:[0-9a-f]{64}\): .*mallory@example\.com/,
        );

        const noRoots = await trustdock(
          ["verify", "--certificate-identity", "a", "--certificate-oidc-issuer", "b", image(repo)],
          { env: env() },
        );
        expect(noRoots.code).toBe(1);
        expect(noRoots.stderr).toContain("no root to verify certificates with");
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "refuses tampered layers, each with its reason, and still accepts the one good signature among them",
      async () => {
        const repo = "library/tampered";
        const pair = generateKeyPair("pw");
        const key = loadPrivateKey(pair.privateKeyPem, "pw");
        const pubFile = join(scratch, "tamper.pub");
        writeFileSync(pubFile, pair.publicKeyPem);
        const good = payloadFor(repo);
        const otherImage = payloadFor(repo, `sha256:${"0".repeat(64)}`);
        const goodSignature = toBase64(signPayload(key, good));
        const changed = new TextEncoder().encode(Buffer.from(good).toString().replace("library", "librarx"));
        const layers = [
          layer({
            payload: otherImage,
            annotations: { [SIGNATURE_ANNOTATION]: toBase64(signPayload(key, otherImage)) },
          }),
          layer({ payload: changed, annotations: { [SIGNATURE_ANNOTATION]: goodSignature } }),
          layer({ payload: good, annotations: { [SIGNATURE_ANNOTATION]: goodSignature.slice(0, 40) } }),
        ];
        await pushSignatures(repo, layers);
        const refused = await trustdock(["verify", "--key", pubFile, image(repo)], { env: env() });
        expect(refused.code).toBe(1);
        const [first, second, third] = layers.map((l) => l.descriptor.digest);
        const lines = refused.stderr.split("\n");
        expect(lines.slice(0, 2)).toEqual([
          `Error: no matching signatures: signature 0 (${first}): the payload signs sha256:${"0".repeat(64)}, not this image's ${digests[repo]}`,
          ` signature 1 (${second}): the signature does not verify with the given key`,
        ]);
        // An ECDSA signature's DER length varies by a byte or two; 40 base64 characters are 30 bytes.
        expect(lines[2]).toMatch(
          new RegExp(`^ signature 2 \\(${third}\\): the signature is truncated: 30 of 7[0-2] bytes$`),
        );
        expect(lines.slice(3)).toEqual([""]);

        await pushSignatures(repo, [
          ...layers,
          layer({ payload: good, annotations: { [SIGNATURE_ANNOTATION]: goodSignature } }),
        ]);
        const accepted = await trustdock(["verify", "--key", pubFile, image(repo)], { env: env() });
        expect(accepted.code).toBe(0);
        expect(JSON.parse(accepted.stdout)).toHaveLength(1);
      },
      TEST_TIMEOUT_MS,
    );
  },
);
