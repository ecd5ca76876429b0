import type { Queryable } from "../storage/db.js";

/**
 * Pushes and garbage collection meet on one PostgreSQL advisory lock per blob digest, held until the end
 * of a transaction. What makes a blob exist or counts on it takes the lock shared, so pushes never wait on
 * one another: placing an uploaded file and recording it, a mount, the blob check of a manifest push. The
 * collector takes it exclusive, then looks again at every manifest and deletes the blob's rows only if
 * none names it; it deletes the file in a later transaction, again under the lock, and only if no row came
 * back meanwhile. So a manifest push either commits before the collector looks (which then keeps the blob)
 * or checks after the rows are gone (MANIFEST_BLOB_UNKNOWN, and the client pushes the blob again), and an
 * upload of the same digest places its file and row wholly before or wholly after the collector's turn,
 * never leaving a row whose file is gone. A crash between the two steps leaves a file without a row,
 * which the next collection removes.
 */
export async function lockBlobs(
  tx: Queryable,
  digests: Iterable<string>,
  mode: "shared" | "exclusive",
): Promise<void> {
  // One order for everyone (the keys sorted), so two transactions locking several digests cannot deadlock.
  const keys = [...new Set([...digests].map(blobLockKey))].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  if (keys.length === 0) return;
  const lock = mode === "shared" ? "pg_advisory_xact_lock_shared" : "pg_advisory_xact_lock";
  // unnest yields the keys in array order, and the locks are taken row by row in that order.
  await tx.query(`SELECT ${lock}(key) FROM unnest($1::bigint[]) AS key`, [keys]);
}

/** The digest's first 60 bits: it is a hash already, so they make a well spread 64-bit lock key. */
export function blobLockKey(digest: string): string {
  const hex = digest.slice(digest.indexOf(":") + 1, digest.indexOf(":") + 16);
  if (!/^[0-9a-f]{15}$/.test(hex)) throw new Error(`not a digest: ${digest}`);
  return BigInt(`0x${hex}`).toString();
}
