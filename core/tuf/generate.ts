import { canonicalJsonBytes } from "../canonical-json.js";
import { sha256, sha512 } from "../digest.js";
import { toBase64, utf8 } from "../encoding.js";
import type { AnySigned, FileMeta, Signature, SnapshotSigned, TimestampSigned } from "./types.js";

/** How long server-signed metadata lives, as notary-server does it: timestamps 14 days, snapshots 3 years. */
export const TIMESTAMP_LIFETIME_MS = 14 * 24 * 3600 * 1000;
export const SNAPSHOT_LIFETIME_MS = 3 * 365 * 24 * 3600 * 1000;

export function fileMeta(bytes: Uint8Array): FileMeta {
  return {
    length: bytes.length,
    hashes: { sha256: toBase64(sha256(bytes)), sha512: toBase64(sha512(bytes)) },
  };
}

/** True when every hash `meta` names (at least one we know) and the length describe `bytes`. */
export function metaMatches(meta: FileMeta, bytes: Uint8Array): boolean {
  if (meta.length !== bytes.length) return false;
  const known = Object.entries(meta.hashes).filter(([alg]) => alg === "sha256" || alg === "sha512");
  if (known.length === 0) return false;
  return known.every(([alg, value]) => toBase64(alg === "sha256" ? sha256(bytes) : sha512(bytes)) === value);
}

export function buildSnapshot(
  previous: SnapshotSigned | undefined,
  changed: ReadonlyMap<string, Uint8Array>,
  now: Date,
): SnapshotSigned {
  const meta: Record<string, FileMeta> = { ...(previous?.meta ?? {}) };
  for (const [role, bytes] of changed) meta[role] = fileMeta(bytes);
  return {
    _type: "Snapshot",
    expires: new Date(now.getTime() + SNAPSHOT_LIFETIME_MS).toISOString(),
    meta,
    version: (previous?.version ?? 0) + 1,
  };
}

export function buildTimestamp(
  previous: TimestampSigned | undefined,
  snapshot: Uint8Array,
  now: Date,
): TimestampSigned {
  return {
    _type: "Timestamp",
    expires: new Date(now.getTime() + TIMESTAMP_LIFETIME_MS).toISOString(),
    meta: { snapshot: fileMeta(snapshot) },
    version: (previous?.version ?? 0) + 1,
  };
}

/**
 * A server-signed file is re-signed when what it describes changed or when less than a quarter of its
 * lifetime is left, so clients that cache it never see it expire.
 */
export function needsResign(signed: { expires: string }, lifetimeMs: number, now: Date): boolean {
  return Date.parse(signed.expires) - now.getTime() < lifetimeMs / 4;
}

export function timestampDescribes(timestamp: TimestampSigned, snapshot: Uint8Array): boolean {
  const meta = timestamp.meta.snapshot;
  return meta !== undefined && metaMatches(meta, snapshot);
}

/** The bytes a signature covers: the canonical JSON of `signed`. */
export function signingBytes(signed: AnySigned): Uint8Array {
  return canonicalJsonBytes(signed);
}

export function serializeEnvelope(signed: AnySigned, signatures: readonly Signature[]): Uint8Array {
  return utf8(JSON.stringify({ signed, signatures }));
}
