/**
 * `verify-blob`: a detached signature over a file's exact bytes, with a public key or with a certificate
 * that chains to given roots and names the expected identity and issuer.
 */
import type { KeyObject, X509Certificate } from "node:crypto";
import { fromBase64, isBase64, toBase64 } from "../encoding.js";
import {
  type CertificateTrust,
  checkCertificateValidAt,
  type IdentityPolicy,
  verifiedCertificateKey,
} from "./certificate.js";
import { describeKey } from "./keys.js";
import { parseRekorBundle, type RekorBundle, verifyRekorBundle } from "./rekor-bundle.js";
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
      /** When the certificate must have been valid if no Rekor entry says when it signed: now. */
      now: Date;
    };

/** A Rekor entry to check offline with the given Rekor keys (cosign's SIGSTORE_REKOR_PUBLIC_KEY). */
export interface BlobTransparencyLog {
  bundle: RekorBundle;
  rekorPublicKeys: readonly KeyObject[];
}

export function verifyBlob(
  blob: Uint8Array,
  signature: Uint8Array,
  verifier: BlobVerifier,
  tlog?: BlobTransparencyLog,
): void {
  const key =
    verifier.kind === "key"
      ? verifier.key
      : verifiedCertificateKey(verifier.certificate, verifier.trust, verifier.policy);
  if (!verifyPayloadSignature(key, blob, signature)) {
    const problem = signatureShapeProblem(signature, key);
    // cosign's own words for a signature that does not verify, which scripts look for.
    const invalid = describeKey(key).startsWith("ecdsa")
      ? "invalid signature when validating ASN.1 encoded signature"
      : "failed to verify signature";
    throw new BlobVerificationError(problem ? `${invalid}: ${problem}` : invalid);
  }
  const signedAt =
    tlog &&
    verifyRekorBundle(tlog.bundle, tlog.rekorPublicKeys, {
      payload: blob,
      signatureBase64: toBase64(signature),
      verifierDer:
        verifier.kind === "key"
          ? new Uint8Array(key.export({ format: "der", type: "spki" }))
          : new Uint8Array(verifier.certificate.raw),
    });
  if (verifier.kind === "certificate")
    checkCertificateValidAt(verifier.certificate, signedAt ?? verifier.now);
}

/** What `cosign sign-blob --bundle` writes: the signature, the certificate if keyless, the Rekor entry. */
export interface LocalSignedPayload {
  base64Signature: string;
  /** base64 of the certificate's PEM. */
  cert?: string;
  rekorBundle?: RekorBundle;
}

export function parseLocalSignedPayload(text: string): LocalSignedPayload {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BlobVerificationError("the bundle is not JSON");
  }
  const bundle = value as Partial<LocalSignedPayload> | null;
  if (typeof bundle?.base64Signature !== "string" || !isBase64(bundle.base64Signature))
    throw new BlobVerificationError("the bundle has no base64Signature");
  if (bundle.cert !== undefined && (typeof bundle.cert !== "string" || !isBase64(bundle.cert)))
    throw new BlobVerificationError("the bundle's cert is not base64");
  return {
    base64Signature: bundle.base64Signature,
    ...(bundle.cert ? { cert: bundle.cert } : {}),
    ...(bundle.rekorBundle ? { rekorBundle: parseRekorBundle(JSON.stringify(bundle.rekorBundle)) } : {}),
  };
}
