import { sha256Hex } from "../digest.js";
import { utf8 } from "../encoding.js";
import {
  buildSignatureManifest,
  imageDigestOfSignatureTag,
  parseSignatureManifest,
  SIGNATURE_ANNOTATION,
  SignatureManifestError,
  signatureConfig,
  signatureLayerDescriptor,
  signatureTag,
} from "./signature-manifest.js";
import { buildSimpleSigningPayload } from "./simple-signing.js";
import { cosignPushVector } from "./testdata/vectors.js";

const hex = "634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00";
const pushed = cosignPushVector;

describe("cosign's .sig manifests", () => {
  test("payload, config and manifest come out byte for byte as cosign pushed them", () => {
    const payload = buildSimpleSigningPayload({
      dockerReference: pushed.docker_reference,
      manifestDigest: pushed.image_digest,
      optional: null,
    });
    expect(`sha256:${sha256Hex(payload)}`).toBe(pushed.payload_digest);
    expect(payload.byteLength).toBe(pushed.payload_size);
    const layer = signatureLayerDescriptor({
      payload,
      annotations: { [SIGNATURE_ANNOTATION]: pushed.signature },
    });
    const { manifest, config } = buildSignatureManifest([layer], pushed.config_created);
    expect(`sha256:${sha256Hex(config)}`).toBe(pushed.config_digest);
    expect(Buffer.from(manifest).toString("utf8")).toBe(pushed.manifest);
    expect(`sha256:${sha256Hex(manifest)}`).toBe(pushed.manifest_digest);
  });

  test("without a recorded creation time the config carries Go's zero time, as cosign 2 writes it", () => {
    const layer = signatureLayerDescriptor({ payload: utf8("{}"), annotations: {} });
    expect(JSON.parse(Buffer.from(signatureConfig([layer])).toString()).created).toBe("0001-01-01T00:00:00Z");
  });

  test("the tag of an image's signatures is sha256-<hex>.sig, and leads back to the digest", () => {
    expect(signatureTag(`sha256:${hex}`)).toBe(`sha256-${hex}.sig`);
    expect(imageDigestOfSignatureTag(`sha256-${hex}.sig`)).toBe(`sha256:${hex}`);
    expect(imageDigestOfSignatureTag(`sha256-${hex}.att`)).toBeUndefined();
    expect(imageDigestOfSignatureTag("latest")).toBeUndefined();
    expect(() => signatureTag("latest")).toThrow(SignatureManifestError);
  });

  test("a signature layer is the payload's digest and size with sorted annotations", () => {
    const payload = utf8("{}");
    expect(
      signatureLayerDescriptor({
        payload,
        annotations: { z: "1", "dev.cosignproject.cosign/signature": "c2ln" },
      }),
    ).toEqual({
      mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
      size: 2,
      digest: `sha256:${sha256Hex(payload)}`,
      annotations: { "dev.cosignproject.cosign/signature": "c2ln", z: "1" },
    });
  });

  test("the manifest lists the layers in order under an OCI manifest whose config records one diff ID per layer", () => {
    const layers = [utf8("a"), utf8("b")].map((payload) =>
      signatureLayerDescriptor({ payload, annotations: {} }),
    );
    const { manifest, config } = buildSignatureManifest(layers);
    const parsed = parseSignatureManifest(manifest);
    expect(parsed.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(parsed.config).toEqual({
      mediaType: "application/vnd.oci.image.config.v1+json",
      size: config.byteLength,
      digest: `sha256:${sha256Hex(config)}`,
    });
    expect(parsed.layers).toEqual(layers);
    expect(JSON.parse(Buffer.from(config).toString()).rootfs).toEqual({
      type: "layers",
      diff_ids: layers.map((l) => l.digest),
    });
    expect(Buffer.from(manifest).toString()).toMatch(
      /^\{"schemaVersion":2,"mediaType":"[^"]+","config":\{"mediaType"/,
    );
  });

  test.each([
    ["not JSON", "nope"],
    ["not schema 2", '{"schemaVersion":1,"layers":[]}'],
    ["no layers", '{"schemaVersion":2}'],
    ["a layer without a digest", '{"schemaVersion":2,"layers":[{"mediaType":"x","size":1}]}'],
    [
      "annotations that are not strings",
      '{"schemaVersion":2,"layers":[{"mediaType":"x","size":1,"digest":"d","annotations":{"a":1}}]}',
    ],
  ])("a manifest with %s is refused", (_what, text) => {
    expect(() => parseSignatureManifest(utf8(text))).toThrow(SignatureManifestError);
  });
});
