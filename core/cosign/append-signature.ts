/**
 * Adding a signature to an image's `.sig` manifest as cosign does: appended after those already there,
 * unless the same signer already signed the same payload (cosign's dupe detector), so signing twice
 * does not grow the manifest.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { fromBase64, isBase64 } from "../encoding.js";
import { verifyPayloadSignature } from "./signature.js";
import {
  type Descriptor,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type SignatureLayerContent,
  signatureLayerDescriptor,
} from "./signature-manifest.js";

export function appendSignatureLayer(
  existing: readonly Descriptor[],
  added: SignatureLayerContent,
  signer: KeyObject,
): { layers: Descriptor[]; appended: boolean } {
  const descriptor = signatureLayerDescriptor(added);
  const publicKey = signer.type === "private" ? createPublicKey(signer) : signer;
  const duplicate = existing.some((layer) => {
    const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
    return (
      layer.mediaType === SIMPLE_SIGNING_MEDIA_TYPE &&
      layer.digest === descriptor.digest &&
      signature !== undefined &&
      isBase64(signature) &&
      verifyPayloadSignature(publicKey, added.payload, fromBase64(signature))
    );
  });
  if (duplicate) return { layers: [...existing], appended: false };
  return { layers: [...existing, descriptor], appended: true };
}
