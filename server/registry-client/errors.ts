/**
 * What can go wrong asking a registry, split the way a fail-closed check needs it: a registry that could
 * not be asked is a check not made (retry later), one that answered settles it.
 */

/** The registry could not be asked (refused, reset, timed out, 5xx): a check that could not be made. */
export class RegistryUnreachableError extends Error {
  override readonly name = "RegistryUnreachableError";
}

/** The registry answered, and the answer settles it (no such tag, access refused, bad digest). */
export class RegistryAnswerError extends Error {
  override readonly name = "RegistryAnswerError";
}

/** The token service answered 401: the credentials (or anonymous access) were turned down. */
export class TokenRefusedError extends RegistryAnswerError {
  constructor(
    message: string,
    /** The token service's host, for a caller that words the refusal its own way. */
    readonly tokenHost: string,
  ) {
    super(message);
  }
}
