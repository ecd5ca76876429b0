/**
 * What the admission check needs from cosign verification, so the verifier (core/cosign, with the
 * registry access it needs) plugs in without the check knowing how signatures are found or checked.
 */
import type { RegistryCredentials } from "./docker-config.js";

export interface CosignSubject {
  registry: string;
  repository: string;
  /** The manifest digest the signature must name (`sha256:...`). */
  digest: string;
  /** From the workload's pull secrets, for a registry the policy has no credentials for. */
  credentials?: RegistryCredentials;
}

export interface CosignVerdict {
  verified: boolean;
  /** Why not, or which key verified it; shown in denials and the audit log. */
  reason: string;
}

export interface CosignVerifier {
  verify(subject: CosignSubject, keys: readonly string[], signal: AbortSignal): Promise<CosignVerdict>;
}
