/**
 * Keyless (Fulcio-style) signers: a leaf certificate that must chain to a given root, be for code
 * signing, and name the expected identity (SAN email or URI) and OIDC issuer (Fulcio's extensions
 * 1.3.6.1.4.1.57264.1.1, a raw string, and .1.8, a DER UTF8String).
 */
import { type KeyObject, X509Certificate } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  Certificate,
  DirectoryString,
  id_ce_subjectAltName,
  SubjectAlternativeName,
} from "@peculiar/asn1-x509";
import { describeKey } from "./keys.js";
import { decodePemBlocks } from "./pem.js";

export const OIDC_ISSUER_V1_OID = "1.3.6.1.4.1.57264.1.1";
export const OIDC_ISSUER_V2_OID = "1.3.6.1.4.1.57264.1.8";
const CODE_SIGNING_EKU = "1.3.6.1.5.5.7.3.3";
const MAX_CHAIN_LENGTH = 10;

export class CertificateError extends Error {
  override readonly name = "CertificateError";
}

export function parseCertificatesPem(pem: string): X509Certificate[] {
  return decodePemBlocks(pem)
    .filter((b) => b.type === "CERTIFICATE")
    .map((b) => {
      try {
        return new X509Certificate(Buffer.from(b.bytes));
      } catch {
        throw new CertificateError("a CERTIFICATE block is not an X.509 certificate");
      }
    });
}

export interface CertificateTrust {
  /** Trusted roots (`--ca-roots`, or the last certificate of `--certificate-chain`). */
  roots: readonly X509Certificate[];
  /** Untrusted intermediates that may complete the path. */
  intermediates?: readonly X509Certificate[];
}

export interface IdentityPolicy {
  /** `--certificate-identity`: a SAN email or URI, compared exactly. */
  identity?: string;
  /** `--certificate-identity-regexp`: matched anywhere in a SAN email or URI, as Go's MatchString. */
  identityRegexp?: RegExp;
  /** `--certificate-oidc-issuer`, compared exactly. */
  oidcIssuer?: string;
  /** `--certificate-oidc-issuer-regexp`, matched as Go's MatchString. */
  oidcIssuerRegexp?: RegExp;
}

/**
 * Verifies the path from `leaf` to a trusted root at `leaf`'s notBefore (as cosign does: Fulcio
 * certificates live minutes; when the signature was made is the Rekor bundle's to prove).
 */
export function verifyCertificateChain(leaf: X509Certificate, trust: CertificateTrust): X509Certificate[] {
  if (trust.roots.length === 0)
    throw new CertificateError("no root certificates to verify the certificate with");
  if (!leaf.keyUsage?.includes(CODE_SIGNING_EKU))
    throw new CertificateError("the certificate is not for code signing (no extended key usage codeSigning)");
  const at = new Date(leaf.validFrom);
  const path = [leaf];
  let current = leaf;
  for (let depth = 0; depth < MAX_CHAIN_LENGTH; depth++) {
    checkCertificateValidAt(current, at);
    const root = trust.roots.find((r) => issues(r, current));
    if (root) {
      checkCertificateValidAt(root, at);
      path.push(root);
      return path;
    }
    const next = trust.intermediates?.find((c) => c.ca && issues(c, current) && !path.includes(c));
    if (!next)
      throw new CertificateError(
        `the certificate chain does not lead to a given root (stuck at ${nameOf(current)})`,
      );
    path.push(next);
    current = next;
  }
  throw new CertificateError("the certificate chain is longer than 10");
}

/** Fulcio leaves have an empty subject: name them by their SAN, or at least by serial number. */
function nameOf(cert: X509Certificate): string {
  return cert.subject?.replace(/\n/g, ", ") || cert.subjectAltName || `serial ${cert.serialNumber}`;
}

function issues(issuer: X509Certificate, subject: X509Certificate): boolean {
  if (issuer.fingerprint256 === subject.fingerprint256) return false;
  return issuer.ca && subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
}

/** Throws unless `cert` was valid at `at` (the signing time Rekor vouches for, or now). */
export function checkCertificateValidAt(cert: X509Certificate, at: Date): void {
  if (at < new Date(cert.validFrom) || at > new Date(cert.validTo))
    throw new CertificateError(
      `certificate ${nameOf(cert)} was not valid at ${at.toISOString()} (valid ${new Date(cert.validFrom).toISOString()} to ${new Date(cert.validTo).toISOString()})`,
    );
}

export interface CertificateIdentity {
  emails: string[];
  uris: string[];
  oidcIssuer: string | undefined;
}

export function certificateIdentity(cert: X509Certificate): CertificateIdentity {
  const parsed = AsnConvert.parse(cert.raw, Certificate);
  const extensions = parsed.tbsCertificate.extensions ?? [];
  const identity: CertificateIdentity = { emails: [], uris: [], oidcIssuer: undefined };
  let v1Issuer: string | undefined;
  for (const ext of extensions) {
    const value = ext.extnValue.buffer;
    if (ext.extnID === id_ce_subjectAltName) {
      for (const name of AsnConvert.parse(value, SubjectAlternativeName)) {
        if (name.rfc822Name !== undefined) identity.emails.push(name.rfc822Name);
        if (name.uniformResourceIdentifier !== undefined) identity.uris.push(name.uniformResourceIdentifier);
      }
    } else if (ext.extnID === OIDC_ISSUER_V2_OID) {
      const text = AsnConvert.parse(value, DirectoryString).utf8String;
      if (text === undefined)
        throw new CertificateError("the OIDC issuer extension (.1.8) is not a UTF8String");
      identity.oidcIssuer = text;
    } else if (ext.extnID === OIDC_ISSUER_V1_OID) {
      v1Issuer = Buffer.from(value).toString("utf8");
    }
  }
  // cosign prefers the newer, DER-encoded extension when a certificate carries both.
  identity.oidcIssuer ??= v1Issuer;
  return identity;
}

export function checkCertificateIdentity(cert: X509Certificate, policy: IdentityPolicy): void {
  const found = certificateIdentity(cert);
  const names = [...found.emails, ...found.uris];
  const wanted = [policy.identity, policy.identityRegexp && `/${policy.identityRegexp.source}/`].filter(
    Boolean,
  );
  if (
    (policy.identity !== undefined && !names.includes(policy.identity)) ||
    (policy.identityRegexp !== undefined && !names.some((n) => policy.identityRegexp?.test(n)))
  )
    throw new CertificateError(
      `none of the expected identities matched what was in the certificate: wanted ${wanted.join(" and ")}, got ${names.join(", ") || "no email or URI"}`,
    );
  const issuer = found.oidcIssuer;
  if (
    (policy.oidcIssuer !== undefined && issuer !== policy.oidcIssuer) ||
    (policy.oidcIssuerRegexp !== undefined && (issuer === undefined || !policy.oidcIssuerRegexp.test(issuer)))
  )
    throw new CertificateError(
      `the certificate's OIDC issuer is ${issuer ?? "missing"}, not ${policy.oidcIssuer ?? `/${policy.oidcIssuerRegexp?.source}/`}`,
    );
}

/** The leaf's public key after its chain and identity checked out. */
export function verifiedCertificateKey(
  leaf: X509Certificate,
  trust: CertificateTrust,
  policy: IdentityPolicy,
): KeyObject {
  verifyCertificateChain(leaf, trust);
  checkCertificateIdentity(leaf, policy);
  try {
    describeKey(leaf.publicKey);
  } catch (err) {
    throw new CertificateError(`the certificate's key cannot sign for cosign: ${(err as Error).message}`);
  }
  return leaf.publicKey;
}
