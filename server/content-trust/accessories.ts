/**
 * Signatures and other accessories of an image (cosign's `sha256-<hex>.sig` manifests, Sigstore bundles
 * and anything else pushed as a referrer) are never held back by content trust: a client must be able to
 * fetch the signature that makes the image pullable. A manifest that names a subject but carries a
 * runnable image's config is still an image, so a subject alone does not slip an image past the check.
 */
const COSIGN_SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json";
const IMAGE_CONFIGS = new Set([
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
]);

// A manifest the registry serves from its cache is the same object pull after pull: parsed once, not on
// every pull of a project with content trust on.
const verdicts = new WeakMap<Uint8Array, boolean>();

export function isAccessory(manifest: { content: Uint8Array }): boolean {
  let verdict = verdicts.get(manifest.content);
  if (verdict === undefined) {
    verdict = parsesAsAccessory(manifest.content);
    verdicts.set(manifest.content, verdict);
  }
  return verdict;
}

function parsesAsAccessory(content: Uint8Array): boolean {
  let parsed: {
    subject?: unknown;
    config?: { mediaType?: unknown };
    layers?: Array<{ mediaType?: unknown }>;
  };
  try {
    parsed = JSON.parse(Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString("utf8"));
  } catch {
    return false;
  }
  const layers = Array.isArray(parsed.layers) ? parsed.layers : [];
  if (layers.length > 0 && layers.every((l) => l.mediaType === COSIGN_SIMPLE_SIGNING)) return true;
  if (parsed.subject === undefined) return false;
  const config = parsed.config?.mediaType;
  return typeof config !== "string" || !IMAGE_CONFIGS.has(config);
}

/** The artifact types a Sigstore bundle referrer carries (cosign --new-bundle-format). */
export function isSigstoreBundleType(artifactType: string | undefined): boolean {
  return artifactType?.startsWith("application/vnd.dev.sigstore.bundle") ?? false;
}
