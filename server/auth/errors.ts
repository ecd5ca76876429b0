import type { Access } from "./access.js";

/**
 * A request that may not go ahead. Each protocol (trust API, registry API) maps it to its own error body;
 * `challenge` is the `WWW-Authenticate` value that tells the client where to get a token, `access` what
 * was asked for, when one resource was.
 */
export class AuthError extends Error {
  override readonly name = "AuthError";
  readonly status: 401 | 403;

  constructor(
    readonly code: "UNAUTHORIZED" | "DENIED",
    message: string,
    readonly challenge: string,
    readonly access?: Access,
  ) {
    super(message);
    this.status = code === "UNAUTHORIZED" ? 401 : 403;
  }
}

/** A bearer token that is malformed, badly signed, expired, not yet valid or meant for another service. */
export class InvalidTokenError extends Error {
  override readonly name = "InvalidTokenError";
}
