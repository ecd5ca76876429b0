import type { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  type CertificateTrust,
  type IdentityPolicy,
  parseCertificatesPem,
} from "../core/cosign/certificate.js";

/** cosign's flags for a signature made with a certificate instead of a key (keyless mode). */
export interface KeylessFlags {
  certificateChain?: string;
  caRoots?: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
}

/**
 * The roots and the identity a signing certificate must have, from the flags, refused as cosign refuses
 * them: an identity and an issuer are required, and at least one root (Fulcio's are never fetched).
 */
export function keylessTrust(flags: KeylessFlags): { trust: CertificateTrust; policy: IdentityPolicy } {
  if (flags.certificateIdentity === undefined && flags.certificateIdentityRegexp === undefined)
    throw new Error(
      "--certificate-identity or --certificate-identity-regexp is required for verification in keyless mode",
    );
  if (flags.certificateOidcIssuer === undefined && flags.certificateOidcIssuerRegexp === undefined)
    throw new Error(
      "--certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required for verification in keyless mode",
    );
  const chain = flags.certificateChain === undefined ? [] : certificatesIn(flags.certificateChain);
  const roots = flags.caRoots === undefined ? [] : certificatesIn(flags.caRoots);
  // As cosign: the chain file ends with the root it trusts; what comes before are intermediates.
  const chainRoot = chain.at(-1);
  if (chainRoot) roots.push(chainRoot);
  if (roots.length === 0)
    throw new Error(
      "no root to verify certificates with: pass --certificate-chain or --ca-roots (Fulcio's roots are not fetched)",
    );
  return {
    trust: { roots, intermediates: chain.slice(0, -1) },
    policy: {
      identity: flags.certificateIdentity,
      identityRegexp: regexpFlag(flags.certificateIdentityRegexp, "--certificate-identity-regexp"),
      oidcIssuer: flags.certificateOidcIssuer,
      oidcIssuerRegexp: regexpFlag(flags.certificateOidcIssuerRegexp, "--certificate-oidc-issuer-regexp"),
    },
  };
}

function regexpFlag(source: string | undefined, flag: string): RegExp | undefined {
  if (source === undefined) return undefined;
  try {
    return new RegExp(source);
  } catch {
    throw new Error(`${flag}: not a regular expression: ${source}`);
  }
}

function certificatesIn(path: string): X509Certificate[] {
  return parseCertificatesPem(readFileSync(path, "utf8"));
}
