/**
 * A check a manifest must pass before it is served (content trust: is this digest signed?). It resolves to
 * allow the pull and throws PullPolicyError to refuse it.
 */
export interface PullPolicy {
  check(repositoryPath: string, digest: string): Promise<void>;
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
