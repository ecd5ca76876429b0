/**
 * Signatures as cosign makes and checks them over a payload's exact bytes: ECDSA over its SHA-256 with
 * an ASN.1 DER signature, RSA PKCS#1 v1.5 with SHA-256, Ed25519 over the bytes themselves.
 */
import { type KeyObject, sign, verify } from "node:crypto";
import { describeKey } from "./keys.js";

export function signPayload(privateKey: KeyObject, payload: Uint8Array): Uint8Array {
  const algorithm = privateKey.asymmetricKeyType === "ed25519" ? null : "sha256";
  return new Uint8Array(sign(algorithm, payload, { key: privateKey, dsaEncoding: "der" }));
}

/** True only if `signature` is a valid signature by `publicKey` over exactly `payload`. */
export function verifyPayloadSignature(
  publicKey: KeyObject,
  payload: Uint8Array,
  signature: Uint8Array,
): boolean {
  const algorithm = publicKey.asymmetricKeyType === "ed25519" ? null : "sha256";
  try {
    // Keys of kinds cosign does not verify with (small RSA, other curves) verify nothing.
    describeKey(publicKey);
    return verify(algorithm, payload, { key: publicKey, dsaEncoding: "der" }, signature);
  } catch {
    // OpenSSL throws on some malformed DER instead of answering false; either way it does not verify.
    return false;
  }
}
