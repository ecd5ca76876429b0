import type { PublicKey } from "../../core/tuf/types.js";
import type { Db, Queryable } from "../storage/db.js";

export interface StoredFile {
  role: string;
  version: number;
  data: Uint8Array;
  createdAt: Date;
}

export interface NewFile {
  role: string;
  version: number;
  data: Uint8Array;
  sha256: string;
}

/** What a publish changed, as the changefeed records it: the new timestamp. */
export interface PublishedChange {
  timestampVersion: number;
  timestampSha256: string;
}

export interface ServerKey {
  keyId: string;
  algorithm: string;
  publicKey: PublicKey;
}

export interface Change {
  ID: string;
  CreatedAt: string;
  GUN: string;
  Version: number;
  SHA256: string;
  Category: "update" | "deletion";
}

interface FileRow {
  role: string;
  version: number;
  data: Uint8Array;
  created_at: Date;
}

const toFile = (row: FileRow): StoredFile => ({
  role: row.role,
  version: row.version,
  data: row.data,
  createdAt: new Date(row.created_at),
});

export const TRUST_CHANGES_CHANNEL = "trustdock_trust_changes";

/** Where TUF files, the server's key references and the changefeed live; the SQL is the same on both drivers. */
export class MetadataStore {
  constructor(private readonly db: Db) {}

  async current(gun: string, role: string, q: Queryable = this.db): Promise<StoredFile | undefined> {
    const rows = await q.query<FileRow>(
      "SELECT role, version, data, created_at FROM tuf_files WHERE gun = $1 AND role = $2 ORDER BY version DESC LIMIT 1",
      [gun, role],
    );
    return rows[0] && toFile(rows[0]);
  }

  /** The newest file of each role, the state a publish is validated against. */
  async allCurrent(gun: string, q: Queryable = this.db): Promise<Map<string, StoredFile>> {
    const rows = await q.query<FileRow>(
      "SELECT DISTINCT ON (role) role, version, data, created_at FROM tuf_files WHERE gun = $1 ORDER BY role, version DESC",
      [gun],
    );
    return new Map(rows.map((r) => [r.role, toFile(r)]));
  }

  /** The newest file of each of `roles`, in one round trip (the timestamp read path). */
  async allCurrentOf(gun: string, roles: readonly string[]): Promise<Map<string, StoredFile>> {
    const rows = await this.db.query<FileRow>(
      "SELECT DISTINCT ON (role) role, version, data, created_at FROM tuf_files WHERE gun = $1 AND role = ANY($2) ORDER BY role, version DESC",
      [gun, roles],
    );
    return new Map(rows.map((r) => [r.role, toFile(r)]));
  }

  async byVersion(gun: string, role: string, version: number): Promise<StoredFile | undefined> {
    const rows = await this.db.query<FileRow>(
      "SELECT role, version, data, created_at FROM tuf_files WHERE gun = $1 AND role = $2 AND version = $3",
      [gun, role, version],
    );
    return rows[0] && toFile(rows[0]);
  }

  async byChecksum(gun: string, role: string, sha256: string): Promise<StoredFile | undefined> {
    const rows = await this.db.query<FileRow>(
      "SELECT role, version, data, created_at FROM tuf_files WHERE gun = $1 AND role = $2 AND sha256 = $3 ORDER BY version DESC LIMIT 1",
      [gun, role, sha256],
    );
    return rows[0] && toFile(rows[0]);
  }

  /** Serialises writers of one repository until the transaction ends, across processes sharing the database. */
  async lockRepository(tx: Queryable, gun: string): Promise<void> {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`tuf:${gun}`]);
  }

  /**
   * Stores files of one repository, records the change in the changefeed and announces it to the other
   * server processes (delivered when `tx` commits), in one round trip: a publish holds the repository's
   * lock while it writes, so each round trip here is one the next publisher waits for. Data travels as
   * hex text, which both drivers pass in arrays alike.
   */
  async insert(
    tx: Queryable,
    gun: string,
    files: readonly NewFile[],
    change?: PublishedChange,
  ): Promise<void> {
    await tx.query(
      `WITH written AS (
         INSERT INTO tuf_files (gun, role, version, data, sha256)
         SELECT $1, f.role, f.version, decode(f.data, 'hex'), f.sha256
         FROM unnest($2::text[], $3::integer[], $4::text[], $5::text[]) AS f(role, version, data, sha256)
       ), change AS (
         INSERT INTO tuf_changefeed (gun, version, sha256, category)
         SELECT $1, $6::integer, $7::text, 'update' WHERE $6::integer IS NOT NULL
       )
       SELECT pg_notify($8, $1) WHERE $6::integer IS NOT NULL`,
      [
        gun,
        files.map((f) => f.role),
        files.map((f) => f.version),
        files.map((f) => Buffer.from(f.data).toString("hex")),
        files.map((f) => f.sha256),
        change?.timestampVersion ?? null,
        change?.timestampSha256 ?? null,
        TRUST_CHANGES_CHANNEL,
      ],
    );
  }

  async deleteRepository(tx: Queryable, gun: string): Promise<number> {
    const rows = await tx.query<{ id: string }>("DELETE FROM tuf_files WHERE gun = $1 RETURNING id", [gun]);
    return rows.length;
  }

  async recordChange(
    tx: Queryable,
    change: { gun: string; version: number; sha256: string | null; category: "update" | "deletion" },
  ): Promise<void> {
    await tx.query("INSERT INTO tuf_changefeed (gun, version, sha256, category) VALUES ($1, $2, $3, $4)", [
      change.gun,
      change.version,
      change.sha256,
      change.category,
    ]);
  }

  /**
   * Changes after `changeId` (oldest first), or, with a negative `records`, the newest ones before it, as
   * notary's changefeed pages: `change_id=0` starts at the beginning, the last ID returned is the next cursor.
   */
  async changes(gun: string | undefined, changeId: number, records: number): Promise<Change[]> {
    const params: (string | number)[] = [];
    const filters: string[] = [];
    if (gun !== undefined) {
      params.push(gun);
      filters.push(`gun = $${params.length}`);
    }
    const reverse = records < 0;
    if (changeId > 0) {
      params.push(changeId);
      filters.push(`id ${reverse ? "<" : ">"} $${params.length}`);
    }
    params.push(Math.abs(records));
    const where = filters.length ? `WHERE ${filters.join(" AND ")}` : "";
    const rows = await this.db.query<{
      id: string | number;
      created_at: Date;
      gun: string;
      version: number;
      sha256: string | null;
      category: "update" | "deletion";
    }>(
      `SELECT id, created_at, gun, version, sha256, category FROM tuf_changefeed ${where} ORDER BY id ${reverse ? "DESC" : "ASC"} LIMIT $${params.length}`,
      params,
    );
    if (reverse) rows.reverse();
    return rows.map((r) => ({
      ID: String(r.id),
      CreatedAt: new Date(r.created_at).toISOString(),
      GUN: r.gun,
      Version: r.version,
      SHA256: r.sha256 ?? "",
      Category: r.category,
    }));
  }

  /** The server-held keys of `role` for `gun`, newest first. */
  async serverKeys(gun: string, role: string, q: Queryable = this.db): Promise<ServerKey[]> {
    const rows = await q.query<{ key_id: string; algorithm: string; public_key: string }>(
      "SELECT key_id, algorithm, public_key FROM tuf_server_keys WHERE gun = $1 AND role = $2 ORDER BY created_at DESC, key_id",
      [gun, role],
    );
    return rows.map((r) => ({
      keyId: r.key_id,
      algorithm: r.algorithm,
      publicKey: JSON.parse(r.public_key) as PublicKey,
    }));
  }

  /** The IDs of the snapshot and timestamp keys the server holds for `gun`, newest first, in one query. */
  async heldKeyIds(
    gun: string,
    q: Queryable = this.db,
  ): Promise<{ snapshot: string[]; timestamp: string[] }> {
    const rows = await q.query<{ role: string; key_id: string }>(
      "SELECT role, key_id FROM tuf_server_keys WHERE gun = $1 ORDER BY created_at DESC, key_id",
      [gun],
    );
    const of = (role: string) => rows.filter((r) => r.role === role).map((r) => r.key_id);
    return { snapshot: of("snapshot"), timestamp: of("timestamp") };
  }

  async addServerKey(tx: Queryable, gun: string, role: string, key: ServerKey): Promise<void> {
    await tx.query(
      "INSERT INTO tuf_server_keys (gun, role, key_id, algorithm, public_key) VALUES ($1, $2, $3, $4, $5)",
      [gun, role, key.keyId, key.algorithm, JSON.stringify(key.publicKey)],
    );
  }

  /** Tells every process on this database, once the transaction commits, that `gun`'s trust data changed. */
  async announceChange(tx: Queryable, gun: string): Promise<void> {
    await tx.query("SELECT pg_notify($1, $2)", [TRUST_CHANGES_CHANNEL, gun]);
  }

  /** The GUNs whose repository path (the GUN without its registry host) is `path`. */
  async gunsForPath(path: string): Promise<string[]> {
    const pattern = `%/${path.replace(/[\\%_]/g, "\\$&")}`;
    const rows = await this.db.query<{ gun: string }>(
      "SELECT DISTINCT gun FROM tuf_files WHERE gun LIKE $1",
      [pattern],
    );
    return rows.map((r) => r.gun).filter((gun) => gun.slice(gun.indexOf("/") + 1) === path);
  }

  async lockKeys(tx: Queryable, gun: string, role: string): Promise<void> {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`tufkey:${gun}:${role}`]);
  }
}
