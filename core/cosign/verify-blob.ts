/**
 * `verify-blob`: a detached signature over a file's exact bytes, with a public key or with a certificate
 * that chains to given roots and names the expected identity and issuer.
 */
import type { KeyObject, X509Certificate } from "node:crypto";
import { fromBase64, isBase64 } from "../encoding.js";
import {
  type CertificateTrust,
  checkCertificateValidAt,
  type IdentityPolicy,
  verifiedCertificateKey,
} from "./certificate.js";
import { describeKey } from "./keys.js";
import { verifyPayloadSignature } from "./signature.js";
import { signatureShapeProblem } from "./signature-shape.js";

export class BlobVerificationError extends Error {
  override readonly name = "BlobVerificationError";
}

/**
 * A signature file as cosign reads it: base64 (what `sign-blob` writes; Go's decoder skips line breaks)
 * or, failing that, the raw signature bytes.
 */
export function decodeSignatureFile(bytes: Uint8Array): Uint8Array {
  const text = Buffer.from(bytes)
    .toString("latin1")
    .replace(/[\r\n]/g, "");
  return isBase64(text) && text !== "" ? fromBase64(text) : bytes;
}

export type BlobVerifier =
  | { kind: "key"; key: KeyObject }
  | {
      kind: "certificate";
      certificate: X509Certificate;
      trust: CertificateTrust;
      policy: IdentityPolicy;
      /** When the certificate must have been valid; without a transparency log entry, now. */
      at: Date;
    };

export function verifyBlob(blob: Uint8Array, signature: Uint8Array, verifier: BlobVerifier): void {
  let key: KeyObject;
  if (verifier.kind === "key") {
    key = verifier.key;
  } else {
    key = verifiedCertificateKey(verifier.certificate, verifier.trust, verifier.policy);
    checkCertificateValidAt(verifier.certificate, verifier.at);
  }
  if (verifyPayloadSignature(key, blob, signature)) return;
  const problem = signatureShapeProblem(signature, key);
  // cosign's own words for a signature that does not verify, which scripts look for.
  const invalid = describeKey(key).startsWith("ecdsa")
    ? "invalid signature when validating ASN.1 encoded signature"
    : "failed to verify signature";
  throw new BlobVerificationError(problem ? `${invalid}: ${problem}` : invalid);
}
