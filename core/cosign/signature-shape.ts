/**
 * Why a signature cannot even be a signature for a key, so a refusal can say "truncated" rather than
 * only "does not verify". Reads the outer DER header of an ECDSA signature, nothing more.
 */
import type { KeyObject } from "node:crypto";
import { describeKey, type KeyAlgorithm } from "./keys.js";

export function signatureShapeProblem(signature: Uint8Array, key: KeyObject): string | undefined {
  if (signature.length === 0) return "the signature is empty";
  let algorithm: KeyAlgorithm;
  try {
    algorithm = describeKey(key);
  } catch (err) {
    return `the key cannot verify cosign signatures: ${(err as Error).message}`;
  }
  switch (algorithm) {
    case "ecdsa-p256":
    case "ecdsa-p384":
      return derSequenceProblem(signature);
    case "ed25519":
      return expectLength(signature, 64);
    case "rsa":
      return expectLength(signature, (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  }
}

function expectLength(signature: Uint8Array, length: number): string | undefined {
  if (signature.length < length) return `the signature is truncated: ${signature.length} of ${length} bytes`;
  if (signature.length > length) return `the signature is ${signature.length} bytes, ${length} expected`;
  return undefined;
}

function derSequenceProblem(signature: Uint8Array): string | undefined {
  if (signature[0] !== 0x30) return "the signature is not an ASN.1 DER sequence";
  if (signature.length < 2) return "the signature is truncated: 1 byte";
  const first = signature[1] ?? 0;
  let headerLength = 2;
  let bodyLength = first;
  if (first === 0x81) {
    if (signature.length < 3) return "the signature is truncated inside its DER header";
    headerLength = 3;
    bodyLength = signature[2] ?? 0;
  } else if (first > 0x80) {
    return "the signature's DER length is not one an ECDSA signature has";
  }
  const total = headerLength + bodyLength;
  if (signature.length < total) return `the signature is truncated: ${signature.length} of ${total} bytes`;
  if (signature.length > total)
    return `the signature has ${signature.length - total} bytes after its DER sequence`;
  return undefined;
}
