import { type PullPolicy, PullPolicyError } from "../registry/pull-policy.js";
import type { SignedDigestIndex } from "../trust/signed-digest-index.js";
import { cosignSignatureTag, isAccessory, isSigstoreBundleType } from "./accessories.js";
import type { ProjectSettingsCache } from "./project-settings.js";

/** What the policy needs to know of the registry's contents to find an image's cosign signatures. */
export interface SignatureLookup {
  manifestByTag(repository: string, tag: string): Promise<unknown | undefined>;
  referrers(repository: string, subject: string): Promise<ReadonlyArray<{ artifactType?: string }>>;
}

// Harbor's code and words, so that scripts and people used to Harbor read the refusal the same way.
const POLICY_VIOLATION = "PROJECT_POLICY_VIOLATION";
export const NOT_SIGNED_IN_NOTARY = "The image is not signed in Notary.";
export const NOT_SIGNED_BY_COSIGN = "The image is not signed by cosign.";

/**
 * Content trust on pull, per project as Harbor has it: with `enable_content_trust` a manifest is served
 * only if the project's Notary trust data signs its digest; with `enable_content_trust_cosign` only if a
 * cosign signature is stored for it (until cosign keys are configured per project, its presence).
 */
export class ContentTrustPullPolicy implements PullPolicy {
  constructor(
    private readonly settings: ProjectSettingsCache,
    private readonly notary: SignedDigestIndex,
    private readonly signatures: SignatureLookup,
  ) {}

  async check(repository: string, manifest: { digest: string; content: Uint8Array }): Promise<void> {
    const project = repository.slice(0, repository.indexOf("/"));
    const { notary, cosign } = await this.settings.settings(project);
    if (!notary && !cosign) return;
    if (isAccessory(manifest)) return;
    const { digest } = manifest;
    if (notary && !(await this.notary.isSigned(repository, digest.slice(digest.indexOf(":") + 1)))) {
      throw new PullPolicyError(NOT_SIGNED_IN_NOTARY, POLICY_VIOLATION, { digest });
    }
    if (cosign && !(await this.hasCosignSignature(repository, digest))) {
      throw new PullPolicyError(NOT_SIGNED_BY_COSIGN, POLICY_VIOLATION, { digest });
    }
  }

  private async hasCosignSignature(repository: string, digest: string): Promise<boolean> {
    if (await this.signatures.manifestByTag(repository, cosignSignatureTag(digest))) return true;
    const referrers = await this.signatures.referrers(repository, digest);
    return referrers.some((r) => isSigstoreBundleType(r.artifactType));
  }
}
