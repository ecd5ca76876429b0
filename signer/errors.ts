/** What went wrong, as callers switch on it; the HTTP status follows from the code. */
export type SignerErrorCode =
  | "INVALID_REQUEST"
  | "NOT_FOUND"
  | "KEY_NOT_FOUND"
  | "PASSPHRASE_MISSING"
  | "DECRYPTION_FAILED"
  | "UNAVAILABLE"
  | "INTERNAL";

export class SignerError extends Error {
  override readonly name = "SignerError";

  constructor(
    readonly code: SignerErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

// A key the signer holds but cannot decrypt is the signer's fault, not the caller's: 503, so the trust
// server answers 503 too and an operator fixes the passphrase.
export const HTTP_STATUS: Readonly<Record<SignerErrorCode, number>> = {
  INVALID_REQUEST: 400,
  NOT_FOUND: 404,
  KEY_NOT_FOUND: 404,
  PASSPHRASE_MISSING: 503,
  DECRYPTION_FAILED: 503,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export function keyNotFound(keyId: string): SignerError {
  return new SignerError("KEY_NOT_FOUND", `no key with ID ${keyId}`);
}
