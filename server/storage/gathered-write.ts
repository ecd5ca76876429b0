import type { FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";

/**
 * How many bytes of a body are gathered into one write. A request body arrives in chunks of 16 KiB (a TLS
 * record, or a socket read): written one at a time, each is a round trip to the thread pool, and those
 * round trips, not the disk, set a push's speed. Gathered, a 256 MiB push is a few hundred writes.
 */
export const GATHER_BYTES = 1024 * 1024;

/**
 * How many written bytes may wait in the page cache before they are flushed while the body still arrives,
 * so that the fsync at the end finds little left to do instead of the whole body.
 */
export const SYNC_EVERY_BYTES = 32 * 1024 * 1024;

/**
 * Writes `source` into `file` from `position` on and resolves with the number of bytes written, once every
 * byte is written and synced to disk. `observe` sees each chunk as it arrives (to hash it on the way).
 * One gathered write is on the thread pool while the next is gathered, so at most about two gathers of the
 * body are held in memory; a write that fails stops the reading and rejects once nothing is in flight.
 */
export async function writeGathered(
  source: Readable,
  file: FileHandle,
  position: number,
  observe?: (chunk: Buffer) => void,
): Promise<number> {
  let gathered: Buffer[] = [];
  let gatheredBytes = 0;
  let written = 0;
  let unsynced = 0;
  let inFlight: Promise<void> = Promise.resolve();
  const startWrite = () => {
    const chunks = gathered;
    const at = position + written;
    const bytes = gatheredBytes;
    const syncAfter = unsynced + bytes >= SYNC_EVERY_BYTES;
    unsynced = syncAfter ? 0 : unsynced + bytes;
    written += bytes;
    gathered = [];
    gatheredBytes = 0;
    inFlight = inFlight.then(async () => {
      await writeAll(file, chunks, at);
      if (syncAfter) await file.datasync();
    });
    // Seen by the next await of inFlight; until then a failure must not count as unhandled.
    inFlight.catch(() => {});
  };
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      observe?.(chunk);
      gathered.push(chunk);
      gatheredBytes += chunk.length;
      if (gatheredBytes >= GATHER_BYTES) {
        await inFlight;
        startWrite();
      }
    }
    if (gatheredBytes > 0) startWrite();
    await inFlight;
  } finally {
    // The caller closes the file once this settles: no write may still be using it then.
    await inFlight.catch(() => {});
  }
  await file.sync();
  return written;
}

/** `chunks` written at `position`, however many calls it takes. */
async function writeAll(file: FileHandle, chunks: Buffer[], position: number): Promise<void> {
  let rest = chunks;
  let at = position;
  while (rest.length > 0) {
    const { bytesWritten } = await file.writev(rest, at);
    if (bytesWritten === 0) throw new Error("the file took none of the bytes written to it");
    at += bytesWritten;
    rest = dropBytes(rest, bytesWritten);
  }
}

function dropBytes(chunks: Buffer[], count: number): Buffer[] {
  let left = count;
  let i = 0;
  while (i < chunks.length && left >= (chunks[i]?.length ?? 0)) left -= chunks[i++]?.length ?? 0;
  const rest = chunks.slice(i);
  const first = rest[0];
  if (first && left > 0) rest[0] = first.subarray(left);
  return rest;
}
