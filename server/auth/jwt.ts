import { InvalidTokenError } from "./errors.js";

/** The three parts of a compact JWS, decoded but not yet trusted: the caller checks `signature`. */
export interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  /** `base64url(header) "." base64url(payload)`, the bytes the signature covers. */
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

// Buffer's base64url decoder skips characters outside the alphabet; a token must not carry any.
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function encodePart(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function decodePart(part: string, what: string): Buffer {
  if (!BASE64URL.test(part)) throw new InvalidTokenError(`token ${what} is not base64url`);
  return Buffer.from(part, "base64url");
}

function decodeObject(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decodePart(part, what).toString("utf8"));
  } catch (err) {
    if (err instanceof InvalidTokenError) throw err;
    throw new InvalidTokenError(`token ${what} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidTokenError(`token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

export function encodeJwt(header: object, payload: object, sign: (signingInput: Buffer) => Buffer): string {
  const signingInput = `${encodePart(header)}.${encodePart(payload)}`;
  return `${signingInput}.${sign(Buffer.from(signingInput)).toString("base64url")}`;
}

/** Throws InvalidTokenError unless `token` has the JWS compact shape with JSON-object header and payload. */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split(".");
  if (parts.length !== 3) throw new InvalidTokenError("token is not a compact JWS");
  const [header, payload, signature] = parts as [string, string, string];
  return {
    header: decodeObject(header, "header"),
    payload: decodeObject(payload, "payload"),
    signingInput: Buffer.from(`${header}.${payload}`),
    signature: decodePart(signature, "signature"),
  };
}
