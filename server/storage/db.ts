/** The one database interface that the server and the signer write to, whatever the driver underneath. */
export type SqlParam =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | Date
  | null
  | readonly string[]
  | readonly number[];

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<Row[]>;
}

export interface Db extends Queryable {
  /** Runs `work` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs several statements at once, no parameters: migrations only. */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
  /**
   * Calls `onMessage` with the payload of every NOTIFY on `channel`, from any process on this database.
   * `onGap` is called when messages may have been missed (the connection was lost and re-established),
   * so a cache fed by the channel knows to drop everything. Resolves with a function that stops listening.
   */
  listen(
    channel: string,
    onMessage: (payload: string) => void,
    onGap: () => void,
  ): Promise<() => Promise<void>>;
  readonly driver: "postgres" | "pglite";
}

/** Raised when the database cannot be reached; handlers turn it into a 503, never a 500. */
export class DatabaseUnavailableError extends Error {
  override readonly name = "DatabaseUnavailableError";
}
