/**
 * Signatures and other accessories of an image (cosign's `sha256-<hex>.sig` manifests, Sigstore bundles
 * and anything else pushed as a referrer) are never held back by content trust: a client must be able to
 * fetch the signature that makes the image pullable.
 */
const COSIGN_SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json";

export function isAccessory(manifest: { content: Uint8Array }): boolean {
  let parsed: { subject?: unknown; layers?: Array<{ mediaType?: unknown }> };
  try {
    parsed = JSON.parse(Buffer.from(manifest.content).toString("utf8"));
  } catch {
    return false;
  }
  if (parsed.subject !== undefined) return true;
  const layers = parsed.layers ?? [];
  return layers.length > 0 && layers.every((l) => l.mediaType === COSIGN_SIMPLE_SIGNING);
}

/** cosign's tag for the signatures of `digest` (`sha256:<hex>` → `sha256-<hex>.sig`). */
export function cosignSignatureTag(digest: string): string {
  return `${digest.replace(":", "-")}.sig`;
}

/** The artifact types a Sigstore bundle referrer carries (cosign --new-bundle-format). */
export function isSigstoreBundleType(artifactType: string | undefined): boolean {
  return artifactType?.startsWith("application/vnd.dev.sigstore.bundle") ?? false;
}
