import { type PulledManifest, type PullPolicy, PullPolicyError } from "../registry/pull-policy.js";
import type { SignedDigestIndex } from "../trust/signed-digest-index.js";
import { isAccessory } from "./accessories.js";
import type { CosignVerdictCache } from "./cosign-verdicts.js";
import { type SignatureSource, verifyPulledManifest } from "./cosign-verification.js";
import type { ProjectSettingsCache } from "./project-settings.js";

// Harbor's code and words, so that scripts and people used to Harbor read the refusal the same way.
const POLICY_VIOLATION = "PROJECT_POLICY_VIOLATION";
export const NOT_SIGNED_IN_NOTARY = "The image is not signed in Notary.";
export const NOT_SIGNED_BY_COSIGN = "The image is not signed by cosign.";
/** Followed by what was wrong with the signatures that are there. */
export const NOT_SIGNED_BY_TRUSTED_COSIGN_KEY =
  "The image is not signed by cosign with a key the project trusts";

/**
 * Content trust on pull, per project as Harbor has it: with `enable_content_trust` a manifest is served
 * only if the project's Notary trust data signs its digest; with `enable_content_trust_cosign` only if a
 * cosign signature stored for it (or for an index that lists it) verifies with one of the project's keys. Signatures and other
 * accessories are always served.
 */
export class ContentTrustPullPolicy implements PullPolicy {
  constructor(
    private readonly settings: ProjectSettingsCache,
    private readonly notary: SignedDigestIndex,
    private readonly signatures: SignatureSource,
    private readonly verdicts: CosignVerdictCache,
  ) {}

  async check(repository: string, manifest: PulledManifest): Promise<void> {
    const project = repository.slice(0, repository.indexOf("/"));
    const { notary, cosign } = await this.settings.settings(project);
    if (!notary && !cosign) return;
    if (isAccessory(manifest)) return;
    const { digest } = manifest;
    if (notary && !(await this.notary.isSigned(repository, digest.slice(digest.indexOf(":") + 1)))) {
      throw new PullPolicyError(NOT_SIGNED_IN_NOTARY, POLICY_VIOLATION, { digest });
    }
    if (!cosign) return;
    const verdict = await this.verdicts.verdict(repository, digest, async () =>
      verifyPulledManifest(this.signatures, repository, digest, await this.verdicts.projectKeys(project)),
    );
    if (verdict.allowed) return;
    if (!verdict.signed) throw new PullPolicyError(NOT_SIGNED_BY_COSIGN, POLICY_VIOLATION, { digest });
    throw new PullPolicyError(`${NOT_SIGNED_BY_TRUSTED_COSIGN_KEY}: ${verdict.reason}`, POLICY_VIOLATION, {
      digest,
    });
  }
}
