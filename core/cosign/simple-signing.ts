/**
 * The simple-signing payload cosign signs for an image (sigstore's payload.SimpleContainerImage):
 * `{"critical":{"identity":{"docker-reference":R},"image":{"docker-manifest-digest":D},"type":T},"optional":O}`.
 * Built as Go's encoding/json writes it (struct order, sorted map keys, HTML characters escaped), so a
 * payload we sign is byte for byte the one cosign would sign.
 */
export const COSIGN_SIGNATURE_TYPE = "cosign container image signature";

export type OptionalValue =
  | null
  | boolean
  | number
  | string
  | OptionalValue[]
  | { [key: string]: OptionalValue };

export interface SimpleSigningPayload {
  dockerReference: string;
  manifestDigest: string;
  /** cosign's `-a key=value` annotations; null when there are none, as cosign writes them. */
  optional: Record<string, OptionalValue> | null;
}

export class PayloadError extends Error {
  override readonly name = "PayloadError";
}

const DIGEST = /^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$/;

export function buildSimpleSigningPayload(payload: SimpleSigningPayload): Uint8Array {
  const text =
    `{"critical":{"identity":{"docker-reference":${goString(payload.dockerReference)}},` +
    `"image":{"docker-manifest-digest":${goString(payload.manifestDigest)}},` +
    `"type":${goString(COSIGN_SIGNATURE_TYPE)}},"optional":${goJson(payload.optional)}}`;
  return new TextEncoder().encode(text);
}

/**
 * Reads a payload strictly: exactly the keys cosign writes (Go would match keys case-insensitively and
 * ignore unknown ones; a verifier must not), the cosign type, and a well-formed digest.
 */
export function parseSimpleSigningPayload(bytes: Uint8Array): SimpleSigningPayload {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new PayloadError("the payload is not JSON");
  }
  const top = objectWithKeys(value, "the payload", ["critical"], ["optional"]);
  const critical = objectWithKeys(top.critical, "critical", ["identity", "image", "type"]);
  if (critical.type !== COSIGN_SIGNATURE_TYPE)
    throw new PayloadError(`the payload is of an unknown type: ${JSON.stringify(critical.type)}`);
  const identity = objectWithKeys(critical.identity, "critical.identity", ["docker-reference"]);
  const image = objectWithKeys(critical.image, "critical.image", ["docker-manifest-digest"]);
  const dockerReference = identity["docker-reference"];
  const manifestDigest = image["docker-manifest-digest"];
  if (typeof dockerReference !== "string")
    throw new PayloadError("critical.identity.docker-reference is not a string");
  if (typeof manifestDigest !== "string" || !DIGEST.test(manifestDigest))
    throw new PayloadError(
      `critical.image.docker-manifest-digest is not a digest: ${JSON.stringify(manifestDigest)}`,
    );
  const optional = top.optional ?? null;
  if (optional !== null && (typeof optional !== "object" || Array.isArray(optional)))
    throw new PayloadError("optional is neither an object nor null");
  return { dockerReference, manifestDigest, optional: optional as Record<string, OptionalValue> | null };
}

function objectWithKeys(
  value: unknown,
  where: string,
  required: readonly string[],
  allowed: readonly string[] = [],
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new PayloadError(`${where} is not an object`);
  const record = value as Record<string, unknown>;
  for (const key of required) if (!(key in record)) throw new PayloadError(`${where} has no "${key}"`);
  for (const key of Object.keys(record))
    if (!required.includes(key) && !allowed.includes(key))
      throw new PayloadError(`${where} has an unexpected key "${key}"`);
  return record;
}

/** A string as Go's json.Marshal writes it: also escapes <, >, & and the JS line separators. */
function goString(text: string): string {
  return JSON.stringify(text).replace(
    /[<>&\u2028\u2029]/g,
    (ch) => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`,
  );
}

/** Go's json.Marshal of an interface{} value: maps with sorted keys, no whitespace. */
function goJson(value: OptionalValue): string {
  if (value === null) return "null";
  if (typeof value === "string") return goString(value);
  if (typeof value === "number" || typeof value === "boolean") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(goJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${goString(k)}:${goJson(value[k] ?? null)}`).join(",")}}`;
}
