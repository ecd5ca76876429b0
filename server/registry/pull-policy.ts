/** The manifest about to be served: the digest the reference resolved to, and what it is. */
export interface PulledManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly content: Uint8Array;
}

/**
 * A check a manifest must pass before it is served (content trust: is this digest signed?). It resolves to
 * allow the pull and throws PullPolicyError to refuse it.
 */
export interface PullPolicy {
  check(repositoryPath: string, manifest: PulledManifest): Promise<void>;
}

/** A pull the policy refuses; the registry answers 412 Precondition Failed with this code and detail. */
export class PullPolicyError extends Error {
  override readonly name = "PullPolicyError";
  constructor(
    message: string,
    readonly code = "DENIED",
    readonly detail: unknown = null,
  ) {
    super(message);
  }
}
