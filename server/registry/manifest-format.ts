import { parseDigest } from "./digest.js";
import { RegistryError } from "./errors.js";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

/** The spec's recommended ceiling: registries SHOULD accept manifests up to 4 MiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const INDEX_TYPES = new Set([OCI_INDEX, DOCKER_MANIFEST_LIST]);
// Layers that live elsewhere (their `urls`) and are never pushed, so the repository need not hold them.
const FOREIGN_LAYER_TYPES = new Set([
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
]);

/** What the registry keeps and checks of a manifest besides its bytes. */
export interface ParsedManifest {
  readonly mediaType: string;
  /** Blobs (config, layers) the repository must hold for the manifest to be accepted. */
  readonly blobs: readonly string[];
  /** Manifests (an index's entries) the repository must hold. */
  readonly manifests: readonly string[];
  readonly subject?: string;
  /** Its own `artifactType`, or for an image manifest without one its config's media type. */
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  urls?: unknown;
}

// RFC 6838's media type grammar: what the database may hold as a media or artifact type.
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export function isMediaType(value: string): boolean {
  return MEDIA_TYPE.test(value);
}

function invalid(message: string): RegistryError {
  return new RegistryError("MANIFEST_INVALID", message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} is not a descriptor`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== "string" || !isMediaType(mediaType))
    throw invalid(`${where} has no valid mediaType`);
  if (typeof digest !== "string" || !parseDigest(digest)) throw invalid(`${where} has no valid digest`);
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)
    throw invalid(`${where} has no valid size`);
  return { mediaType, digest, urls: value.urls };
}

function descriptors(value: unknown, where: string): Descriptor[] {
  if (!Array.isArray(value)) throw invalid(`${where} is not a list of descriptors`);
  return value.map((entry, i) => descriptor(entry, `${where}[${i}]`));
}

function annotations(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === "string"))
    throw invalid("annotations must map strings to strings");
  return value as Record<string, string>;
}

function optionalMediaType(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !isMediaType(value)) throw invalid(`${field} must be a media type`);
  return value;
}

/** Content types a manifest may be pushed as: the four known ones and any OCI artifact type. */
function isManifestType(type: string | undefined): type is string {
  return (
    type !== undefined &&
    (type === DOCKER_MANIFEST || type === DOCKER_MANIFEST_LIST || type.startsWith("application/vnd.oci."))
  );
}

/**
 * Parses a pushed manifest: an OCI image manifest or index, a Docker v2 schema 2 manifest or manifest
 * list, or an OCI artifact type shaped as an image manifest. `contentType` is the request's (parameters
 * stripped); a generic one (application/json) defers to the manifest's own `mediaType`.
 * Throws MANIFEST_INVALID for anything else.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch {
    throw invalid("the manifest is not JSON");
  }
  if (!isObject(body)) throw invalid("the manifest is not a JSON object");
  const declared = optionalMediaType(body.mediaType, "mediaType");
  const mediaType = isManifestType(contentType) ? contentType : declared;
  if (!isManifestType(mediaType)) throw invalid(`unsupported manifest media type ${mediaType ?? "(none)"}`);
  if (declared !== undefined && declared !== mediaType)
    throw invalid(`the manifest's mediaType ${declared} is not its Content-Type ${mediaType}`);
  if (body.schemaVersion !== 2) throw invalid("schemaVersion must be 2");

  const subject = body.subject === undefined ? undefined : descriptor(body.subject, "subject").digest;
  const common = { mediaType, subject, annotations: annotations(body.annotations) };
  const ownArtifactType = optionalMediaType(body.artifactType, "artifactType");

  if (INDEX_TYPES.has(mediaType)) {
    return {
      ...common,
      blobs: [],
      manifests: descriptors(body.manifests, "manifests").map((d) => d.digest),
      artifactType: ownArtifactType,
    };
  }
  if (body.config === undefined || body.layers === undefined)
    throw invalid(`a ${mediaType} manifest needs config and layers`);
  const config = descriptor(body.config, "config");
  const layers = descriptors(body.layers, "layers").filter(
    (layer) =>
      !(FOREIGN_LAYER_TYPES.has(layer.mediaType) && Array.isArray(layer.urls) && layer.urls.length > 0),
  );
  return {
    ...common,
    blobs: [config.digest, ...layers.map((layer) => layer.digest)],
    manifests: [],
    artifactType: ownArtifactType ?? config.mediaType,
  };
}
