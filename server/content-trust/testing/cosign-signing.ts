import type { KeyObject } from "node:crypto";
import { signPayload } from "../../../core/cosign/signature.js";
import {
  buildSignatureManifest,
  type Descriptor,
  OCI_MANIFEST_MEDIA_TYPE,
  SIGNATURE_ANNOTATION,
  signatureLayerDescriptor,
  signatureTag,
} from "../../../core/cosign/signature-manifest.js";
import {
  buildImageSignatureBundle,
  bundleReferrerManifest,
  OCI_EMPTY_CONFIG,
  OCI_EMPTY_MEDIA_TYPE,
} from "../../../core/cosign/sigstore-bundle.js";
import { buildSimpleSigningPayload } from "../../../core/cosign/simple-signing.js";
import type { PushedManifest, registryClient } from "../../registry/testing/registry-client.js";

// Signing images in a test registry with the core cosign library, in both layouts, and the pieces a
// test tampers with. Test support only; nothing in the server imports it.

type Registry = ReturnType<typeof registryClient>;

/** One layer of a `.sig` manifest: the payload blob, its signature, and the layer's media type. */
export interface SignatureLayerParts {
  payload: Uint8Array;
  signature: Uint8Array;
  mediaType?: string;
  /** More annotations beside the signature, e.g. cosign's Rekor bundle. */
  annotations?: Record<string, string>;
}

/** A simple-signing payload for `manifestDigest` and its signature by `key`, as `cosign sign` makes them. */
export function signedPayload(
  key: KeyObject,
  dockerReference: string,
  manifestDigest: string,
): SignatureLayerParts {
  const payload = buildSimpleSigningPayload({ dockerReference, manifestDigest, optional: null });
  return { payload, signature: signPayload(key, payload) };
}

/** Pushes the layers as the `.sig` manifest of `imageDigest` (or at `tag`), blobs first. */
export async function pushSignatureManifest(
  registry: Registry,
  repository: string,
  imageDigest: string,
  layers: readonly SignatureLayerParts[],
  tag: string = signatureTag(imageDigest),
): Promise<PushedManifest> {
  const descriptors: Descriptor[] = [];
  for (const layer of layers) {
    await registry.pushBlob(repository, Buffer.from(layer.payload));
    const descriptor = signatureLayerDescriptor({
      payload: layer.payload,
      annotations: {
        ...layer.annotations,
        [SIGNATURE_ANNOTATION]: Buffer.from(layer.signature).toString("base64"),
      },
    });
    descriptors.push(layer.mediaType ? { ...descriptor, mediaType: layer.mediaType } : descriptor);
  }
  const { manifest, config } = buildSignatureManifest(descriptors);
  await registry.pushBlob(repository, Buffer.from(config));
  const pushed = await registry.pushManifest(
    repository,
    tag,
    JSON.parse(Buffer.from(manifest).toString()),
    OCI_MANIFEST_MEDIA_TYPE,
  );
  if (pushed.reply.status !== 201) throw new Error(`signature push failed: ${pushed.reply.body.toString()}`);
  return pushed;
}

/** Signs `image` with `key` in the `.sig` layout. */
export function signClassic(
  registry: Registry,
  repository: string,
  image: { digest: string },
  key: KeyObject,
  dockerReference = repository,
): Promise<PushedManifest> {
  return pushSignatureManifest(registry, repository, image.digest, [
    signedPayload(key, dockerReference, image.digest),
  ]);
}

/** Signs `image` with `key` as a Sigstore bundle referrer (`cosign sign --new-bundle-format`). */
export async function signWithBundle(
  registry: Registry,
  repository: string,
  image: { digest: string; mediaType: string; size: number },
  key: KeyObject,
  bundle: Uint8Array = buildImageSignatureBundle(key, { repository, manifestDigest: image.digest }),
): Promise<PushedManifest> {
  await registry.pushBlob(repository, Buffer.from(bundle));
  await registry.pushBlob(repository, Buffer.from(OCI_EMPTY_CONFIG), OCI_EMPTY_MEDIA_TYPE);
  const manifest = bundleReferrerManifest(bundle, image, new Date());
  const pushed = await registry.pushManifest(
    repository,
    undefined,
    JSON.parse(Buffer.from(manifest).toString()),
    OCI_MANIFEST_MEDIA_TYPE,
  );
  if (pushed.reply.status !== 201) throw new Error(`bundle push failed: ${pushed.reply.body.toString()}`);
  return pushed;
}
