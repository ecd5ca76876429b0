/**
 * cosign's classic signature layout: for image digest `sha256:<hex>`, an OCI manifest tagged
 * `sha256-<hex>.sig` whose layers are simple-signing payloads, each signed in an annotation.
 */
import { sha256Hex } from "../digest.js";

export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
export const CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate";
export const CHAIN_ANNOTATION = "dev.sigstore.cosign/chain";
export const BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle";

export const OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";
export const OCI_CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json";

export class SignatureManifestError extends Error {
  override readonly name = "SignatureManifestError";
}

export interface Descriptor {
  mediaType: string;
  size: number;
  digest: string;
  annotations?: Record<string, string>;
}

export interface SignatureManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

const IMAGE_DIGEST = /^(sha256|sha512):([0-9a-f]+)$/;

/** The tag cosign stores an image's signatures under: `sha256:<hex>` becomes `sha256-<hex>.sig`. */
export function signatureTag(imageDigest: string): string {
  const match = IMAGE_DIGEST.exec(imageDigest);
  if (!match) throw new SignatureManifestError(`not an image digest: ${imageDigest}`);
  return `${match[1]}-${match[2]}.sig`;
}

/** The image digest a `.sig` tag belongs to, or undefined for any other tag. */
export function imageDigestOfSignatureTag(tag: string): string | undefined {
  const match = /^(sha256)-([0-9a-f]{64})\.sig$|^(sha512)-([0-9a-f]{128})\.sig$/.exec(tag);
  if (!match) return undefined;
  return `${match[1] ?? match[3]}:${match[2] ?? match[4]}`;
}

/** A signature layer to put in the manifest: the payload and its annotations. */
export interface SignatureLayerContent {
  payload: Uint8Array;
  annotations: Record<string, string>;
}

export function signatureLayerDescriptor(layer: SignatureLayerContent): Descriptor {
  return {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    size: layer.payload.byteLength,
    digest: `sha256:${sha256Hex(layer.payload)}`,
    annotations: sortedRecord(layer.annotations),
  };
}

/** Go's zero time: what cosign records as the creation time unless asked to record the real one. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * The config go-containerregistry writes for cosign's signature image (an empty image with the layers
 * appended: one empty history entry and one diff ID per layer, the payloads being uncompressed).
 * `created` is Go's RFC 3339 text, for cosign's --record-creation-timestamp.
 */
export function signatureConfig(layers: readonly Descriptor[], created: string = ZERO_TIME): Uint8Array {
  const history = layers.map(() => '{"created":"0001-01-01T00:00:00Z"}').join(",");
  const diffIds = layers.map((l) => JSON.stringify(l.digest)).join(",");
  return new TextEncoder().encode(
    `{"architecture":"","created":${JSON.stringify(created)},"history":[${history}],"os":"",` +
      `"rootfs":{"type":"layers","diff_ids":[${diffIds}]},"config":{}}`,
  );
}

/** The signature manifest and its config for these layers (existing ones first, a new one appended). */
export function buildSignatureManifest(
  layers: readonly Descriptor[],
  created: string = ZERO_TIME,
): { manifest: Uint8Array; config: Uint8Array } {
  const config = signatureConfig(layers, created);
  const manifest: SignatureManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    config: {
      mediaType: OCI_CONFIG_MEDIA_TYPE,
      size: config.byteLength,
      digest: `sha256:${sha256Hex(config)}`,
    },
    layers: layers.map((l) => ({ ...l })),
  };
  return { manifest: new TextEncoder().encode(JSON.stringify(manifest)), config };
}

/** The layers of a signature manifest; the manifest itself must be a manifest, its layers descriptors. */
export function parseSignatureManifest(bytes: Uint8Array): SignatureManifest {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new SignatureManifestError("the signature manifest is not JSON");
  }
  const manifest = value as Partial<SignatureManifest> | null;
  if (typeof manifest !== "object" || manifest === null || manifest.schemaVersion !== 2)
    throw new SignatureManifestError("the signature manifest is not a schema 2 image manifest");
  if (!Array.isArray(manifest.layers))
    throw new SignatureManifestError("the signature manifest has no layers");
  manifest.layers.forEach((layer, index) => {
    const l = layer as Partial<Descriptor> | null;
    if (
      typeof l !== "object" ||
      l === null ||
      typeof l.mediaType !== "string" ||
      typeof l.digest !== "string" ||
      !Number.isSafeInteger(l.size) ||
      (l.annotations !== undefined && !isStringRecord(l.annotations))
    )
      throw new SignatureManifestError(`layer ${index} of the signature manifest is not a descriptor`);
  });
  return manifest as SignatureManifest;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string")
  );
}

/** Go marshals map[string]string with sorted keys; keeping that order keeps the manifest cosign's bytes. */
function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
