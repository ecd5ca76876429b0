import pg from "pg";
import { DatabaseUnavailableError, type Db, type Queryable, type SqlParam } from "./db.js";

// Connection-level failures (server restarted, refused, reset): retried once by the pool, then a 503.
const CONNECTION_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "57P01",
  "57P02",
  "57P03",
  "08006",
  "08001",
  "08003",
]);

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && CONNECTION_ERRORS.has(code)) return true;
  const message = err instanceof Error ? err.message : "";
  return /Connection terminated|Client has encountered a connection error|connect ECONNREFUSED/.test(message);
}

function wrap(err: unknown): unknown {
  return isConnectionError(err)
    ? new DatabaseUnavailableError(`database unavailable: ${(err as Error).message}`)
    : err;
}

// Bytea columns come back as Buffer; everything above this layer works with Uint8Array, which Buffer is.
export class PgDb implements Db {
  readonly driver = "postgres" as const;
  private readonly pool: pg.Pool;
  private readonly listeners = new Set<NotificationListener>();

  constructor(
    private readonly url: string,
    maxConnections = 10,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: maxConnections });
    // An idle client losing its connection (e.g. PostgreSQL restarted) must not crash the process.
    this.pool.on("error", () => {});
  }

  async query<Row>(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    try {
      const result = await this.pool.query(sql, params as unknown[]);
      return result.rows as Row[];
    } catch (err) {
      throw wrap(err);
    }
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw wrap(err);
    }
    // Only the database's own failures are wrapped: an error thrown by `work` (the signer being down,
    // say) must reach the caller as it is, not as "database unavailable".
    const run = async <Row>(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> => {
      try {
        return (await client.query(sql, params as unknown[])).rows as Row[];
      } catch (err) {
        throw wrap(err);
      }
    };
    let broken = false;
    try {
      await run("BEGIN");
      const result = await work({ query: run });
      await run("COMMIT");
      return result;
    } catch (err) {
      broken = err instanceof DatabaseUnavailableError;
      if (!broken) await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.pool.query(sql);
    } catch (err) {
      throw wrap(err);
    }
  }

  async listen(
    channel: string,
    onMessage: (payload: string) => void,
    onGap: () => void,
  ): Promise<() => Promise<void>> {
    const listener = new NotificationListener(this.url, channel, onMessage, onGap);
    this.listeners.add(listener);
    await listener.start();
    return async () => {
      this.listeners.delete(listener);
      await listener.stop();
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.listeners].map((l) => l.stop()));
    await this.pool.end();
  }
}

const RECONNECT_DELAY_MS = 500;

/**
 * A LISTEN on its own connection (a pooled one would be handed to other queries). When the connection
 * drops, e.g. PostgreSQL restarts, it reconnects and reports the gap, since NOTIFYs sent meanwhile are lost.
 */
class NotificationListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly onMessage: (payload: string) => void,
    private readonly onGap: () => void,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on("notification", (msg) => {
      if (msg.channel === this.channel) this.onMessage(msg.payload ?? "");
    });
    client.on("error", () => this.reconnect(client));
    client.on("end", () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel.replace(/"/g, '""')}"`);
    } catch (err) {
      client.end().catch(() => {});
      throw wrap(err);
    }
    this.client = client;
  }

  private reconnect(broken: pg.Client): void {
    if (this.stopped || this.client !== broken) return;
    this.client = undefined;
    broken.end().catch(() => {});
    this.onGap();
    const retry = () => {
      if (this.stopped) return;
      this.start().then(
        () => this.onGap(),
        () => {
          this.timer = setTimeout(retry, RECONNECT_DELAY_MS);
        },
      );
    };
    this.timer = setTimeout(retry, RECONNECT_DELAY_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.client?.end().catch(() => {});
  }
}
