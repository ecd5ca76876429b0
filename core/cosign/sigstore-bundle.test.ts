import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { sigstoreVerify } from "../../test/support/sigstore.js";
import { sha256Hex } from "../digest.js";
import { fromBase64, toBase64, utf8 } from "../encoding.js";
import { signPayload } from "./signature.js";
import {
  buildImageSignatureBundle,
  buildImageStatement,
  bundleReferrerManifest,
  dssePreAuthEncoding,
  IN_TOTO_PAYLOAD_TYPE,
  OCI_EMPTY_CONFIG,
  publicKeyHint,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  SigstoreBundleError,
  verifyImageSignatureBundle,
} from "./sigstore-bundle.js";
import { certificateAuthority, fulcioLeaf } from "./testdata/certificates.js";

const digest = `sha256:${"ef".repeat(32)}`;
const image = { repository: "127.0.0.1:5000/library/app", manifestDigest: digest };

// biome-ignore lint/suspicious/noExplicitAny: tests reach anywhere into the bundle's JSON to tamper with it
type BundleJson = Record<string, any>;

function mutateBundle(bytes: Uint8Array, change: (bundle: BundleJson) => void): Uint8Array {
  const bundle = JSON.parse(Buffer.from(bytes).toString("utf8")) as BundleJson;
  change(bundle);
  return utf8(JSON.stringify(bundle));
}

describe("Sigstore bundles for --new-bundle-format", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const bundle = buildImageSignatureBundle(privateKey, image);

  test("an independent verifier, @sigstore/verify, accepts our bundle given the public key", () => {
    expect(() => sigstoreVerify(bundle, publicKey)).not.toThrow();
  });

  test("@sigstore/verify refuses it with another key, or once its payload changed", () => {
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
    const hintedOther = mutateBundle(bundle, (b) => {
      b.verificationMaterial.publicKey.hint = publicKeyHint(other);
    });
    expect(() => sigstoreVerify(hintedOther, other)).toThrow("signature verification failed");
    const changed = mutateBundle(bundle, (b) => {
      b.dsseEnvelope.payload = toBase64(
        utf8(Buffer.from(fromBase64(b.dsseEnvelope.payload)).toString().replace("ef", "ee")),
      );
    });
    expect(() => sigstoreVerify(changed, publicKey)).toThrow("signature verification failed");
  });

  test("it is a v0.3 bundle with a DSSE in-toto statement of cosign's predicate for the digest", () => {
    const json = JSON.parse(Buffer.from(bundle).toString());
    expect(json.mediaType).toBe(SIGSTORE_BUNDLE_MEDIA_TYPE);
    expect(json.dsseEnvelope.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    expect(JSON.parse(Buffer.from(fromBase64(json.dsseEnvelope.payload)).toString())).toEqual({
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: image.repository, digest: { sha256: "ef".repeat(32) } }],
      predicateType: "https://sigstore.dev/cosign/sign/v1",
      predicate: {},
    });
  });

  test("our own verifier accepts it for this digest only", () => {
    expect(() =>
      verifyImageSignatureBundle(bundle, digest, { kind: "keys", keys: [publicKey] }),
    ).not.toThrow();
    expect(() =>
      verifyImageSignatureBundle(bundle, `sha256:${"00".repeat(32)}`, { kind: "keys", keys: [publicKey] }),
    ).toThrow(`not this image's sha256:${"00".repeat(32)}`);
  });

  test("our verifier refuses what @sigstore/verify refuses, naming the reason", () => {
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
    expect(() => verifyImageSignatureBundle(bundle, digest, { kind: "keys", keys: [other] })).toThrow(
      "DSSE signature does not verify",
    );
    const truncated = mutateBundle(bundle, (b) => {
      b.dsseEnvelope.signatures[0].sig = toBase64(
        fromBase64(b.dsseEnvelope.signatures[0].sig).subarray(0, 20),
      );
    });
    expect(() => verifyImageSignatureBundle(truncated, digest, { kind: "keys", keys: [publicKey] })).toThrow(
      SigstoreBundleError,
    );
    const v02 = mutateBundle(bundle, (b) => {
      b.mediaType = "application/vnd.dev.sigstore.bundle+json;version=0.2";
    });
    expect(() => verifyImageSignatureBundle(v02, digest, { kind: "keys", keys: [publicKey] })).toThrow(
      "media type",
    );
  });

  test("a signed attestation of another predicate type is not an image signature", () => {
    const payload = utf8(
      JSON.stringify({
        _type: "https://in-toto.io/Statement/v1",
        subject: [{ name: "x", digest: { sha256: "ef".repeat(32) } }],
        predicateType: "https://slsa.dev/provenance/v1",
        predicate: {},
      }),
    );
    const attestation = mutateBundle(bundle, (b) => {
      b.dsseEnvelope.payload = toBase64(payload);
      b.dsseEnvelope.signatures[0].sig = toBase64(
        signPayload(privateKey, dssePreAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload)),
      );
    });
    expect(() => sigstoreVerify(attestation, publicKey)).not.toThrow();
    expect(() =>
      verifyImageSignatureBundle(attestation, digest, { kind: "keys", keys: [publicKey] }),
    ).toThrow("an attestation is not a signature");
  });

  test("a keyless bundle verifies against the given root and identity", async () => {
    const root = await certificateAuthority("CN=bundle root");
    const leaf = await fulcioLeaf(root, { email: "dev@example.com", issuerV2: "https://issuer.example" });
    const pkcs8 = await crypto.subtle.exportKey("pkcs8", leaf.keys.privateKey);
    const leafKey = createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
    const keyless = mutateBundle(buildImageSignatureBundle(leafKey, image), (b) => {
      b.verificationMaterial = {
        certificate: { rawBytes: toBase64(new Uint8Array(leaf.cert.raw)) },
        tlogEntries: [],
      };
    });
    const verifier = {
      kind: "certificate" as const,
      trust: { roots: [root.cert] },
      policy: { identity: "dev@example.com", oidcIssuer: "https://issuer.example" },
      at: new Date(),
    };
    expect(() => verifyImageSignatureBundle(keyless, digest, verifier)).not.toThrow();
    expect(() =>
      verifyImageSignatureBundle(keyless, digest, { ...verifier, policy: { identity: "eve@example.com" } }),
    ).toThrow("none of the expected identities matched");
  });

  test("the referrer manifest points at the image and carries the bundle as its one layer", () => {
    const subject = { mediaType: "application/vnd.oci.image.manifest.v1+json", size: 500, digest };
    const manifest = JSON.parse(
      Buffer.from(bundleReferrerManifest(bundle, subject, new Date("2026-01-02T03:04:05.678Z"))).toString(),
    );
    expect(manifest).toEqual({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE,
      config: {
        mediaType: "application/vnd.oci.empty.v1+json",
        size: 2,
        digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
      },
      layers: [
        {
          mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
          size: bundle.byteLength,
          digest: `sha256:${sha256Hex(bundle)}`,
        },
      ],
      subject,
      annotations: {
        "dev.sigstore.bundle.content": "dsse-envelope",
        "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1",
        "org.opencontainers.image.created": "2026-01-02T03:04:05Z",
      },
    });
    expect(`sha256:${sha256Hex(OCI_EMPTY_CONFIG)}`).toBe(manifest.config.digest);
  });

  test("the statement refuses a digest that is not sha256", () => {
    expect(() => buildImageStatement({ repository: "r", manifestDigest: "sha512:abc" })).toThrow(
      SigstoreBundleError,
    );
  });
});
