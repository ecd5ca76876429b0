import type { FastifyBaseLogger } from "fastify";
import { type Pull, PullStats } from "../registry/pull-stats.js";
import type { DeletionEvent, ManifestEvent, RegistryEvents } from "../registry/registry-events.js";
import type { Db } from "../storage/db.js";
import { type AuditEntry, AuditLog } from "./audit-log.js";

export interface RegistryAuditOptions {
  /** How long a pull waits in memory before it is written; default one second. */
  readonly flushEveryMs?: number;
  /** Pulls written in one transaction; a full batch is written at once. Default 2,000: each write costs
   * the process about as much as a few hundred pulls, so large batches keep the pull path cheap. */
  readonly batchSize?: number;
  /** Pulls held while the database refuses them; beyond this the oldest are dropped. Default 50,000. */
  readonly maxPending?: number;
}

type Logger = Pick<FastifyBaseLogger, "error" | "warn">;

/** Harbor's audit log shows a caller without identity as "anonymous". */
const actor = (subject: string) => subject || "anonymous";

/** Harbor's resource of an artifact event: `<repository>:<tag>`, or `<repository>:<digest>` without a tag. */
const artifactResource = (of: { repository: string; digest: string; tag?: string | undefined }) =>
  `${of.repository}:${of.tag ?? of.digest}`;

/**
 * The registry's history in Harbor's audit log: a manifest push is an artifact `create`, a GET a `pull`,
 * a deletion by digest an artifact `delete` and by tag a tag `delete`. Pushes and deletions are written
 * as they happen; pulls, the hot path, are buffered and written in batches (with their counts for the
 * repository catalog) every `flushEveryMs` and on close. A failed write is logged and never fails the
 * request it records.
 */
export class RegistryAuditTrail implements RegistryEvents {
  private readonly pending: Array<Pull & { readonly username: string }> = [];
  /** Pulls dropped for want of room since the last flush, reported by the next one. */
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private flushQueued = false;
  private readonly flushEveryMs: number;
  private readonly batchSize: number;
  private readonly maxPending: number;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    options: RegistryAuditOptions = {},
  ) {
    this.flushEveryMs = options.flushEveryMs ?? 1000;
    this.batchSize = options.batchSize ?? 2000;
    this.maxPending = options.maxPending ?? 50_000;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.flushEveryMs);
    this.timer.unref();
  }

  /** Stops the timer and writes whatever pulls are still held. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  async pushed(event: ManifestEvent): Promise<void> {
    await this.write({
      username: actor(event.actor),
      operation: "create",
      resourceType: "artifact",
      resource: artifactResource(event),
    });
  }

  async deleted(event: DeletionEvent): Promise<void> {
    const { reference } = event;
    await this.write({
      username: actor(event.actor),
      operation: "delete",
      resourceType: "tag" in reference ? "tag" : "artifact",
      resource: `${event.repository}:${"tag" in reference ? reference.tag : reference.digest}`,
    });
  }

  pulled(event: ManifestEvent): void {
    this.pending.push({
      username: actor(event.actor),
      repository: event.repository,
      digest: event.digest,
      ...(event.tag === undefined ? {} : { tag: event.tag }),
      at: new Date(),
    });
    if (this.pending.length > this.maxPending) {
      // A tenth of the bound at a time, so that a long outage costs each pull no more than a short one.
      const excess = this.pending.length - this.maxPending + Math.floor(this.maxPending / 10);
      this.pending.splice(0, excess);
      this.dropped += excess;
    }
    if (this.pending.length === this.batchSize) void this.flush();
  }

  /** Writes every pull held so far, in batches; resolves once they are written or given back. */
  flush(): Promise<void> {
    // One write waiting behind the running one is enough: it takes whatever is held when it starts.
    if (!this.flushQueued) {
      this.flushQueued = true;
      this.writing = this.writing.then(() => {
        this.flushQueued = false;
        return this.writeHeld();
      });
    }
    return this.writing;
  }

  private async writeHeld(): Promise<void> {
    if (this.dropped > 0) {
      this.log.warn({ dropped: this.dropped }, "audit log: pulls dropped, the database has not taken them");
      this.dropped = 0;
    }
    while (this.pending.length > 0) {
      const pulls = this.pending.splice(0, this.batchSize);
      try {
        await this.db.transaction(async (tx) => {
          await new AuditLog(tx).recordAll(
            pulls.map((pull) => ({
              username: pull.username,
              operation: "pull",
              resourceType: "artifact",
              resource: artifactResource(pull),
              at: pull.at,
            })),
          );
          await new PullStats(tx).record(pulls);
        });
      } catch (err) {
        // Kept for the next flush (the oldest go first if too many pile up).
        this.pending.unshift(...pulls);
        this.log.error({ err, pulls: pulls.length }, "audit log: writing pulls failed; retrying later");
        return;
      }
    }
  }

  private async write(entry: AuditEntry): Promise<void> {
    try {
      await new AuditLog(this.db).record(entry);
    } catch (err) {
      this.log.error({ err, entry }, "audit log: writing an entry failed");
    }
  }
}
