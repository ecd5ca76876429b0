import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { cosignFixtures, cosignFixtureText } from "../../test/support/cosign-fixtures.js";
import { sha256Hex } from "../digest.js";
import { toBase64, utf8 } from "../encoding.js";
import { parsePublicKeyPem } from "./keys.js";
import { signPayload } from "./signature.js";
import {
  BUNDLE_ANNOTATION,
  type Descriptor,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  signatureLayerDescriptor,
} from "./signature-manifest.js";
import { buildImageSignatureBundle } from "./sigstore-bundle.js";
import { buildSimpleSigningPayload } from "./simple-signing.js";
import {
  type SignatureLayer,
  verifyBundleSignature,
  verifyImageSignatures,
  verifySignatureLayer,
} from "./verify-image.js";

function fixtureLayers(name: string): { layers: SignatureLayer[]; manifestDigest: string; key: KeyObject } {
  const fixture = cosignFixtures().find((f) => f.name === name);
  if (!fixture) throw new Error(`no fixture ${name}`);
  const layers = fixture.signatures.map((s) => ({
    descriptor: {
      mediaType: s.mediaType,
      size: s.payload.byteLength,
      digest: `sha256:${sha256Hex(s.payload)}`,
      annotations: s.annotations,
    },
    content: s.payload,
  }));
  return {
    layers,
    manifestDigest: fixture.manifestDigest,
    key: parsePublicKeyPem(cosignFixtureText(fixture.verifyWith)),
  };
}

describe("real cosign signatures reach their expected verdicts", () => {
  for (const fixture of cosignFixtures()) {
    test(`${fixture.name}: ${fixture.expect} (${fixture.why})`, () => {
      const { layers, manifestDigest, key } = fixtureLayers(fixture.name);
      expect(`sha256:${sha256Hex(fixture.manifest)}`).toBe(fixture.manifestDigest);
      const { verified, rejected } = verifyImageSignatures(layers, {
        manifestDigest,
        verifier: { kind: "keys", keys: [key] },
      });
      expect(verified.length > 0).toBe(fixture.expect === "valid");
      if (fixture.expect === "invalid") expect(rejected.length).toBe(fixture.signatures.length);
    });
  }

  test("another image's signature is refused because it names another digest", () => {
    const { layers, manifestDigest, key } = fixtureLayers("cosign-modified-manifest");
    const [verdict] = verifyImageSignatures(layers, {
      manifestDigest,
      verifier: { kind: "keys", keys: [key] },
    }).rejected;
    expect(verdict?.code).toBe("other-image");
    expect(verdict?.reason).toContain(
      "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00",
    );
    expect(verdict?.reason).toContain(manifestDigest);
  });

  test("an attachment that carries the signature annotation is refused for its media type", () => {
    const { layers, manifestDigest, key } = fixtureLayers("cosign-other-attachment");
    const [verdict] = verifyImageSignatures(layers, {
      manifestDigest,
      verifier: { kind: "keys", keys: [key] },
    }).rejected;
    expect(verdict?.code).toBe("not-simple-signing");
    expect(verdict?.reason).toContain("text/plain");
  });

  test("a valid signature checked against another key does not verify", () => {
    const { layers, manifestDigest } = fixtureLayers("cosign-valid");
    const other = parsePublicKeyPem(cosignFixtureText("cosign2.pub"));
    const [verdict] = verifyImageSignatures(layers, {
      manifestDigest,
      verifier: { kind: "keys", keys: [other] },
    }).rejected;
    expect(verdict?.code).toBe("bad-signature");
  });

  test("with the Rekor key given, the Rekor bundle of a real signature verifies offline", () => {
    const { layers, manifestDigest, key } = fixtureLayers("cosign-key-rekor-valid");
    const rekor = parsePublicKeyPem(cosignFixtureText("rekor.pub"));
    const { verified } = verifyImageSignatures(layers, {
      manifestDigest,
      verifier: { kind: "keys", keys: [key] },
      rekorPublicKeys: [rekor],
    });
    expect(verified[0]?.integratedTime?.toISOString()).toBe("2023-01-20T21:57:39.000Z");
  });

  test("a Rekor bundle checked against another Rekor key is refused, naming the log", () => {
    const { layers, manifestDigest, key } = fixtureLayers("cosign-key-rekor-valid");
    const { rejected } = verifyImageSignatures(layers, {
      manifestDigest,
      verifier: { kind: "keys", keys: [key] },
      rekorPublicKeys: [parsePublicKeyPem(cosignFixtureText("cosign.pub"))],
    });
    expect(rejected[0]?.code).toBe("rekor-bundle");
    expect(rejected[0]?.reason).toContain("not one of the given Rekor keys");
  });

  test("a Rekor bundle moved onto another signature is refused", () => {
    const rekorLayer = fixtureLayers("cosign-key-rekor-valid").layers[0];
    const { layers, manifestDigest, key } = fixtureLayers("cosign-valid");
    const [layer] = layers;
    if (!layer || !rekorLayer) throw new Error("fixtures lack layers");
    const moved = {
      ...layer,
      descriptor: {
        ...layer.descriptor,
        annotations: {
          ...layer.descriptor.annotations,
          [BUNDLE_ANNOTATION]: rekorLayer.descriptor.annotations?.[BUNDLE_ANNOTATION] ?? "",
        },
      },
    };
    const verdict = verifySignatureLayer(moved, 0, {
      manifestDigest,
      verifier: { kind: "keys", keys: [key] },
      rekorPublicKeys: [parsePublicKeyPem(cosignFixtureText("rekor.pub"))],
    });
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.code).toBe("rekor-bundle");
    expect(!verdict.ok && verdict.reason).toContain("another payload");
  });
});

describe("tampered signatures are refused with a reason that names what was wrong", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const digest = `sha256:${"ab".repeat(32)}`;
  const payload = buildSimpleSigningPayload({
    dockerReference: "127.0.0.1:5000/library/app",
    manifestDigest: digest,
    optional: { build: "42" },
  });
  const signature = toBase64(signPayload(privateKey, payload));
  const good: SignatureLayer = {
    descriptor: signatureLayerDescriptor({ payload, annotations: { [SIGNATURE_ANNOTATION]: signature } }),
    content: payload,
  };
  const verify = (layer: SignatureLayer, extra: { annotations?: Record<string, string> } = {}) =>
    verifySignatureLayer(layer, 0, {
      manifestDigest: digest,
      verifier: { kind: "keys", keys: [publicKey] },
      ...extra,
    });
  const withDescriptor = (change: Partial<Descriptor>): SignatureLayer => ({
    descriptor: { ...good.descriptor, ...change },
    content: good.content,
  });

  test("the untouched signature verifies, with the payload it signed", () => {
    const verdict = verify(good);
    expect(verdict.ok && verdict.payload).toEqual({
      dockerReference: "127.0.0.1:5000/library/app",
      manifestDigest: digest,
      optional: { build: "42" },
    });
  });

  test.each([
    [
      "a changed payload",
      { ...good, content: new TextEncoder().encode(new TextDecoder().decode(payload).replace("42", "43")) },
      "digest-mismatch",
    ],
    [
      "a truncated signature",
      withDescriptor({
        annotations: { [SIGNATURE_ANNOTATION]: toBase64(Buffer.from(signature, "base64").subarray(0, 40)) },
      }),
      "malformed-signature",
    ],
    [
      "a signature that is not base64",
      withDescriptor({ annotations: { [SIGNATURE_ANNOTATION]: "not base64!" } }),
      "signature-not-base64",
    ],
    ["no signature annotation", withDescriptor({ annotations: {} }), "no-signature"],
    ["another media type", withDescriptor({ mediaType: "application/octet-stream" }), "not-simple-signing"],
    ["a missing blob", { ...good, content: undefined }, "missing-content"],
  ] as const)("%s", (_what, layer, code) => {
    const verdict = verify(layer as SignatureLayer);
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.code).toBe(code);
  });

  test("a truncated signature says how much of it is there", () => {
    const truncated = Buffer.from(signature, "base64").subarray(0, 40);
    const verdict = verify(withDescriptor({ annotations: { [SIGNATURE_ANNOTATION]: toBase64(truncated) } }));
    expect(!verdict.ok && verdict.reason).toMatch(/truncated: 40 of 7[0-2] bytes/);
  });

  test("a signed payload that is not simple-signing JSON is refused after its signature verifies", () => {
    const text = new TextEncoder().encode('{"critical":{"type":"something else"}}');
    const layer: SignatureLayer = {
      descriptor: signatureLayerDescriptor({
        payload: text,
        annotations: { [SIGNATURE_ANNOTATION]: toBase64(signPayload(privateKey, text)) },
      }),
      content: text,
    };
    const verdict = verify(layer);
    expect(!verdict.ok && verdict.code).toBe("not-a-payload");
  });

  test("annotations asked for must be in the payload's optional section with the same value", () => {
    expect(verify(good, { annotations: { build: "42" } }).ok).toBe(true);
    const wrong = verify(good, { annotations: { build: "41" } });
    expect(!wrong.ok && wrong.reason).toContain('annotation build is "42", not "41"');
    const missing = verify(good, { annotations: { env: "prod" } });
    expect(!missing.ok && missing.code).toBe("annotation-mismatch");
  });

  test("a layer of the right media type is still checked: only the signed one of two verifies", () => {
    const { verified, rejected } = verifyImageSignatures(
      [withDescriptor({ annotations: { [SIGNATURE_ANNOTATION]: toBase64(new Uint8Array(70)) } }), good],
      { manifestDigest: digest, verifier: { kind: "keys", keys: [publicKey] } },
    );
    expect(verified.map((v) => v.index)).toEqual([1]);
    expect(rejected.map((r) => r.index)).toEqual([0]);
    expect(SIMPLE_SIGNING_MEDIA_TYPE).toBe(good.descriptor.mediaType);
  });
});

describe("Sigstore bundle referrers are candidates with the same verdicts", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const digest = `sha256:${"12".repeat(32)}`;
  const content = buildImageSignatureBundle(privateKey, {
    repository: "127.0.0.1:5000/library/app",
    manifestDigest: digest,
  });
  const bundle = { digest: `sha256:${sha256Hex(content)}`, content };
  const options = { manifestDigest: digest, verifier: { kind: "keys" as const, keys: [publicKey] } };

  test("a bundle signing this digest verifies, shown as cosign shows it", () => {
    const verdict = verifyBundleSignature(bundle, 0, options);
    expect(verdict.ok && verdict.layout).toBe("bundle");
    expect(verdict.ok && verdict.payload).toEqual({
      dockerReference: "127.0.0.1:5000/library/app",
      manifestDigest: digest,
      optional: {},
      type: "https://sigstore.dev/cosign/sign/v1",
    });
  });

  test.each([
    ["for another image", { ...options, manifestDigest: `sha256:${"34".repeat(32)}` }, bundle, "other-image"],
    [
      "with another key",
      {
        ...options,
        verifier: {
          kind: "keys" as const,
          keys: [generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey],
        },
      },
      bundle,
      "bad-signature",
    ],
    ["whose blob does not match its digest", options, { ...bundle, content: utf8("{}") }, "digest-mismatch"],
    [
      "that is not a bundle",
      options,
      { digest: `sha256:${sha256Hex(utf8("{}"))}`, content: utf8("{}") },
      "not-a-bundle",
    ],
    ["when Rekor is asked for", { ...options, rekorPublicKeys: [publicKey] }, bundle, "rekor-bundle"],
    [
      "when annotations are asked for",
      { ...options, annotations: { a: "b" } },
      bundle,
      "annotation-mismatch",
    ],
  ])("a bundle is refused %s", (_what, opts, candidate, code) => {
    const verdict = verifyBundleSignature(candidate, 0, opts);
    expect(!verdict.ok && verdict.code).toBe(code);
  });
});
