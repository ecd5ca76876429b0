/**
 * Canonical JSON as notary and go-tuf sign it (the "cjson" variant): object keys sorted by their UTF-16
 * code units, no insignificant whitespace, and strings escaped only where JSON requires it (`"` and `\`
 * and control characters below 0x20), so non-ASCII text stays as raw UTF-8.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export class CanonicalJsonError extends Error {
  override readonly name = "CanonicalJsonError";
}

export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      // TUF metadata holds only integers (versions, lengths, thresholds); floats have no canonical form.
      if (!Number.isSafeInteger(value)) throw new CanonicalJsonError(`not an integer: ${value}`);
      return String(value);
    case "string":
      return escapeString(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${escapeString(k)}:${canonicalJson(record[k])}`).join(",")}}`;
    }
    default:
      throw new CanonicalJsonError(`cannot encode a ${typeof value}`);
  }
}

export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

function escapeString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (code < 0x20) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}
