import type { CosignVerifier } from "../../core/admission/cosign.js";
import type { RegistryCredentials } from "../../core/admission/docker-config.js";
import {
  fullName,
  type ImageReference,
  pinnedReference,
  registryApiHost,
  trustServerHost,
} from "../../core/admission/image-reference.js";
import {
  checkSignedTarget,
  delegationOf,
  RELEASES_ROLE,
  type RootAnchor,
  TrustDataError,
  verifyDelegation,
  verifyRoot,
  verifySnapshot,
  verifyTargets,
  verifyTimestamp,
} from "../../core/admission/notary-trust.js";
import type { NotaryRequirement, PolicyRule } from "../../core/admission/policy.js";
import type { ImageFindings } from "../../core/admission/verdict.js";
import type { TargetsSigned } from "../../core/tuf/types.js";
import { RegistryAnswerError, RegistryUnreachableError } from "../registry-client/errors.js";
import type { AdmissionRegistryClient } from "./registry-client.js";
import type { RootPins } from "./root-pins.js";

/** Findings, and whether they come from a check that could not be made (not worth caching). */
export interface CheckResult {
  findings: ImageFindings;
  transient: boolean;
}

/** Stands in until a cosign verifier is plugged in: a rule asking for cosign then refuses, saying why. */
export const COSIGN_UNAVAILABLE: CosignVerifier = {
  verify: async () => ({ verified: false, reason: "cosign verification is not available on this server" }),
};

/**
 * Checks one image reference against one rule: resolves its tag to a digest from the registry, then
 * verifies Notary trust data for that digest and/or a cosign signature, as the rule requires.
 */
export class ImageChecker {
  constructor(
    private readonly registries: AdmissionRegistryClient,
    private readonly pins: RootPins,
    private readonly cosign: CosignVerifier = COSIGN_UNAVAILABLE,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** `credentials`: from the workload's pull secrets, used where the policy names none for the registry. */
  async check(
    ref: ImageReference,
    rule: PolicyRule,
    signal: AbortSignal,
    credentials?: RegistryCredentials,
  ): Promise<CheckResult> {
    let digest: string;
    try {
      digest = ref.digest ?? (await this.resolve(ref, signal, credentials));
    } catch (err) {
      return failed(err);
    }
    const findings: ImageFindings = { digest, pinned: pinnedReference(ref, digest), failures: [] };
    let transient = false;
    const requirements: Array<Promise<void>> = [];
    if (rule.notary) {
      const notary = rule.notary;
      requirements.push(
        this.checkNotary(ref, digest, notary, signal, credentials).then(
          (failure) => void (failure && findings.failures.push(failure)),
          (err) => {
            const result = failed(err);
            transient ||= result.transient;
            findings.failures.push(...result.findings.failures);
          },
        ),
      );
    }
    if (rule.cosign) {
      const keys = rule.cosign.keys;
      const subject = {
        registry: ref.registry,
        repository: ref.repository,
        digest,
        ...(credentials ? { credentials } : {}),
      };
      requirements.push(
        this.cosign.verify(subject, keys, signal).then(
          (verdict) => void (verdict.verified || findings.failures.push(`cosign: ${verdict.reason}`)),
          (err) => {
            transient = true;
            findings.failures.push(`cosign: ${(err as Error).message}`);
          },
        ),
      );
    }
    await Promise.all(requirements);
    return { findings, transient };
  }

  private async resolve(
    ref: ImageReference,
    signal: AbortSignal,
    credentials: RegistryCredentials | undefined,
  ): Promise<string> {
    const host = registryApiHost(ref.registry);
    const tag = ref.tag ?? "latest";
    return (await this.registries.resolveManifest(host, ref.repository, tag, signal, credentials)).digest;
  }

  /** Undefined when the trust data signs `digest` for the reference; the reason otherwise. */
  private async checkNotary(
    ref: ImageReference,
    digest: string,
    requirement: NotaryRequirement,
    signal: AbortSignal,
    credentials: RegistryCredentials | undefined,
  ): Promise<string | undefined> {
    try {
      return await this.readTrustData(ref, digest, requirement, signal, credentials);
    } catch (err) {
      // The files are fetched one by one: a publish landing between two of them reads as a mismatch.
      if (!(err instanceof TrustDataError)) throw err;
      return this.readTrustData(ref, digest, requirement, signal, credentials);
    }
  }

  private async readTrustData(
    ref: ImageReference,
    digest: string,
    requirement: NotaryRequirement,
    signal: AbortSignal,
    credentials: RegistryCredentials | undefined,
  ): Promise<string | undefined> {
    const host = trustServerHost(ref.registry);
    const gun = fullName(ref);
    const fetch = (role: string) => this.registries.trustFile(host, gun, role, signal, credentials);
    const [rootBytes, timestampBytes, snapshotBytes, targetsBytes, pinned] = await Promise.all([
      fetch("root"),
      fetch("timestamp"),
      fetch("snapshot"),
      fetch("targets"),
      requirement.rootKeys.length ? undefined : this.pins.get(gun),
    ]);
    if (!rootBytes || !timestampBytes || !snapshotBytes || !targetsBytes)
      return `not signed: ${host} has no Notary trust data for ${gun}`;
    const anchor: RootAnchor = requirement.rootKeys.length
      ? { kind: "keys", keyIds: requirement.rootKeys }
      : pinned
        ? { kind: "pinned", root: pinned }
        : { kind: "first-use" };
    const now = this.clock();
    const root = verifyRoot(rootBytes, anchor, now);
    const timestamp = verifyTimestamp(root, timestampBytes, now);
    const snapshot = verifySnapshot(root, timestamp, snapshotBytes, now);
    const targets = verifyTargets(root, snapshot, targetsBytes, now);
    const roles: TargetsSigned[] = [targets];
    if (delegationOf(targets, RELEASES_ROLE)) {
      const releases = await fetch(RELEASES_ROLE);
      if (releases) roles.unshift(verifyDelegation(targets, snapshot, RELEASES_ROLE, releases, now));
    }
    if (anchor.kind !== "keys" && (!pinned || pinned.version < root.version)) await this.pins.pin(gun, root);
    const signed = checkSignedTarget(roles, ref.tag, digest);
    return signed.signed ? undefined : `not signed: ${signed.reason}`;
  }
}

function failed(err: unknown): CheckResult {
  if (err instanceof RegistryUnreachableError)
    return { findings: { failures: [err.message] }, transient: true };
  if (err instanceof RegistryAnswerError) return { findings: { failures: [err.message] }, transient: false };
  if (err instanceof TrustDataError)
    return { findings: { failures: [`Notary trust data refused: ${err.message}`] }, transient: false };
  throw err;
}
