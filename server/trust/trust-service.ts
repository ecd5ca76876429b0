import { sha256Hex } from "../../core/digest.js";
import { toBase64 } from "../../core/encoding.js";
import { TufError } from "../../core/tuf/errors.js";
import {
  buildSnapshot,
  buildTimestamp,
  needsResign,
  SNAPSHOT_LIFETIME_MS,
  serializeEnvelope,
  signingBytes,
  TIMESTAMP_LIFETIME_MS,
  timestampDescribes,
} from "../../core/tuf/generate.js";
import { parseMetaFile } from "../../core/tuf/parse.js";
import { planPublish, serverKeyFor } from "../../core/tuf/publish.js";
import {
  type AnySigned,
  isDelegation,
  type MetaFile,
  type PublicKey,
  ROOT,
  type RootSigned,
  SNAPSHOT,
  type SnapshotSigned,
  TARGETS,
  TIMESTAMP,
  type TimestampSigned,
} from "../../core/tuf/types.js";
import type { Db, Queryable } from "../storage/db.js";
import type { Change, MetadataStore, NewFile, StoredFile } from "./metadata-store.js";

/** What the trust service needs of the signer: keys created and used there, never seen here. */
export interface TrustSigner {
  createKey(
    algorithm: "ecdsa" | "ed25519",
    owner: { gun: string; role: string },
  ): Promise<{ keyId: string; algorithm: string; publicKey: PublicKey }>;
  sign(keyId: string, data: Uint8Array): Promise<{ keyId: string; method: string; signature: Uint8Array }>;
}

export class MetadataNotFoundError extends Error {
  override readonly name = "MetadataNotFoundError";
}

export type ServerKeyRole = "timestamp" | "snapshot";

export function isServerKeyRole(role: string): role is ServerKeyRole {
  return role === TIMESTAMP || role === SNAPSHOT;
}

export function isPublishableRole(role: string): boolean {
  return role === ROOT || role === TARGETS || role === SNAPSHOT || isDelegation(role);
}

export interface TrustServiceOptions {
  db: Db;
  store: MetadataStore;
  signer: TrustSigner;
  keyAlgorithm?: "ecdsa" | "ed25519";
  clock?: () => Date;
}

/**
 * The Notary server's behaviour over storage and the signer: publishes validated and stored whole in one
 * transaction (serialised per repository), server-signed snapshot and timestamp kept fresh, server keys.
 */
export class TrustService {
  private readonly db: Db;
  private readonly store: MetadataStore;
  private readonly signer: TrustSigner;
  private readonly keyAlgorithm: "ecdsa" | "ed25519";
  private readonly now: () => Date;

  constructor(opts: TrustServiceOptions) {
    this.db = opts.db;
    this.store = opts.store;
    this.signer = opts.signer;
    this.keyAlgorithm = opts.keyAlgorithm ?? "ecdsa";
    this.now = opts.clock ?? (() => new Date());
  }

  async publish(gun: string, parts: ReadonlyArray<{ role: string; bytes: Uint8Array }>): Promise<void> {
    for (const part of parts) {
      if (!isPublishableRole(part.role))
        throw new TufError("ErrInvalidRole", `${part.role} cannot be published (timestamp is server-signed)`);
    }
    const files = parts.map((p) => parseMetaFile(p.role, p.bytes));
    await this.db.transaction(async (tx) => {
      await this.store.lockRepository(tx, gun);
      const current = parseAll(await this.store.allCurrent(gun, tx));
      const held = await this.store.heldKeyIds(gun, tx);
      const now = this.now();
      const plan = planPublish(current, files, held, now);
      const written: NewFile[] = plan.accepted.map((f) =>
        newFile(f.role, f.envelope.signed.version, f.bytes),
      );
      let snapshotBytes: Uint8Array;
      if (plan.snapshot.signedBy === "server") {
        snapshotBytes = await this.signEnvelope(plan.snapshot.signed, plan.snapshot.keyId);
        written.push(newFile(SNAPSHOT, plan.snapshot.signed.version, snapshotBytes));
      } else {
        snapshotBytes = (files.find((f) => f.role === SNAPSHOT) as MetaFile).bytes;
      }
      const previousTimestamp = current.get(TIMESTAMP)?.envelope.signed as TimestampSigned | undefined;
      const timestamp = buildTimestamp(previousTimestamp, snapshotBytes, now);
      const timestampBytes = await this.signEnvelope(timestamp, plan.timestampKeyId);
      written.push(newFile(TIMESTAMP, timestamp.version, timestampBytes));
      await this.commit(tx, gun, written, timestamp.version, timestampBytes);
    });
  }

  /** The current file of a role. Timestamp and server-held snapshot are re-signed first if they went stale. */
  async current(gun: string, role: string): Promise<StoredFile> {
    if (role === TIMESTAMP) return this.currentTimestamp(gun);
    const file = await this.store.current(gun, role);
    if (!file) throw new MetadataNotFoundError(`${gun} has no ${role}`);
    if (role === SNAPSHOT && needsResign(parseSigned(file.data), SNAPSHOT_LIFETIME_MS, this.now())) {
      return (await this.tryRefresh(gun, file, SNAPSHOT)) ?? file;
    }
    return file;
  }

  async byVersion(gun: string, role: string, version: number): Promise<StoredFile> {
    const file = await this.store.byVersion(gun, role, version);
    if (!file) throw new MetadataNotFoundError(`${gun} has no ${role} version ${version}`);
    return file;
  }

  async byChecksum(gun: string, role: string, sha256: string): Promise<StoredFile> {
    const file = await this.store.byChecksum(gun, role, sha256);
    if (!file) throw new MetadataNotFoundError(`${gun} has no ${role} with checksum ${sha256}`);
    return file;
  }

  /** The newest server key of a role, created on first use (notary's GET <role>.key). */
  async getOrCreateKey(gun: string, role: ServerKeyRole): Promise<PublicKey> {
    const existing = await this.store.serverKeys(gun, role);
    if (existing[0]) return existing[0].publicKey;
    return this.db.transaction(async (tx) => {
      await this.store.lockKeys(tx, gun, role);
      const raced = await this.store.serverKeys(gun, role, tx);
      if (raced[0]) return raced[0].publicKey;
      return this.createKey(tx, gun, role);
    });
  }

  /** A new server key for a role (notary's POST <role>.key); it signs once a root lists it. */
  async rotateKey(gun: string, role: ServerKeyRole): Promise<PublicKey> {
    return this.db.transaction(async (tx) => {
      await this.store.lockKeys(tx, gun, role);
      return this.createKey(tx, gun, role);
    });
  }

  async deleteRepository(gun: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.store.lockRepository(tx, gun);
      const removed = await this.store.deleteRepository(tx, gun);
      if (removed === 0) return;
      await this.store.recordChange(tx, { gun, version: 0, sha256: null, category: "deletion" });
      await this.store.announceChange(tx, gun);
    });
  }

  changes(gun: string | undefined, changeId: number, records: number): Promise<Change[]> {
    return this.store.changes(gun, changeId, records);
  }

  private async currentTimestamp(gun: string): Promise<StoredFile> {
    const files = await this.store.allCurrentOf(gun, [TIMESTAMP, SNAPSHOT]);
    const timestamp = files.get(TIMESTAMP);
    const snapshot = files.get(SNAPSHOT);
    if (!timestamp || !snapshot) throw new MetadataNotFoundError(`${gun} has no timestamp`);
    const signed = parseSigned(timestamp.data) as unknown as TimestampSigned;
    const snapshotStale = needsResign(parseSigned(snapshot.data), SNAPSHOT_LIFETIME_MS, this.now());
    if (
      !snapshotStale &&
      timestampDescribes(signed, snapshot.data) &&
      !needsResign(signed, TIMESTAMP_LIFETIME_MS, this.now())
    )
      return timestamp;
    return (await this.tryRefresh(gun, timestamp, TIMESTAMP)) ?? timestamp;
  }

  /**
   * Re-signs what went stale. If the signer is unreachable, readers keep the file they have while it is
   * still valid, so reads go on; once it has expired, the signer's error reaches the client.
   */
  private async tryRefresh(gun: string, stale: StoredFile, role: string): Promise<StoredFile | undefined> {
    try {
      await this.refresh(gun);
      return await this.store.current(gun, role);
    } catch (err) {
      if (Date.parse(parseSigned(stale.data).expires) > this.now().getTime()) return undefined;
      throw err;
    }
  }

  private async refresh(gun: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.store.lockRepository(tx, gun);
      const current = parseAll(await this.store.allCurrent(gun, tx));
      const root = current.get(ROOT)?.envelope.signed as RootSigned | undefined;
      const snapshotFile = current.get(SNAPSHOT);
      const timestampFile = current.get(TIMESTAMP);
      if (!root || !snapshotFile || !timestampFile) return;
      const now = this.now();
      const held = await this.store.heldKeyIds(gun, tx);
      const written: NewFile[] = [];
      let snapshotBytes = snapshotFile.bytes;
      const snapshot = snapshotFile.envelope.signed as SnapshotSigned;
      if (needsResign(snapshot, SNAPSHOT_LIFETIME_MS, now)) {
        const keyId = serverKeyFor(root, "snapshot", held.snapshot);
        if (keyId) {
          const next = buildSnapshot(snapshot, new Map(), now);
          snapshotBytes = await this.signEnvelope(next, keyId);
          written.push(newFile(SNAPSHOT, next.version, snapshotBytes));
        }
      }
      const timestamp = timestampFile.envelope.signed as TimestampSigned;
      if (
        written.length === 0 &&
        timestampDescribes(timestamp, snapshotBytes) &&
        !needsResign(timestamp, TIMESTAMP_LIFETIME_MS, now)
      )
        return; // another process refreshed it while this one waited for the lock
      const keyId = serverKeyFor(root, "timestamp", held.timestamp);
      if (!keyId) return;
      const next = buildTimestamp(timestamp, snapshotBytes, now);
      const bytes = await this.signEnvelope(next, keyId);
      written.push(newFile(TIMESTAMP, next.version, bytes));
      await this.commit(tx, gun, written, next.version, bytes);
    });
  }

  /** Stores a new state of the repository, ending with its timestamp: files, changefeed entry, notification. */
  private async commit(
    tx: Queryable,
    gun: string,
    written: readonly NewFile[],
    timestampVersion: number,
    timestampBytes: Uint8Array,
  ): Promise<void> {
    await this.store.insert(tx, gun, written, {
      timestampVersion,
      timestampSha256: sha256Hex(timestampBytes),
    });
  }

  private async createKey(tx: Queryable, gun: string, role: ServerKeyRole): Promise<PublicKey> {
    const created = await this.signer.createKey(this.keyAlgorithm, { gun, role });
    await this.store.addServerKey(tx, gun, role, created);
    return created.publicKey;
  }

  private async signEnvelope(signed: AnySigned, keyId: string): Promise<Uint8Array> {
    const result = await this.signer.sign(keyId, signingBytes(signed));
    return serializeEnvelope(signed, [
      { keyid: result.keyId, method: result.method, sig: toBase64(result.signature) },
    ]);
  }
}

function newFile(role: string, version: number, data: Uint8Array): NewFile {
  return { role, version, data, sha256: sha256Hex(data) };
}

function parseAll(files: Map<string, StoredFile>): Map<string, MetaFile> {
  return new Map([...files].map(([role, f]) => [role, parseMetaFile(role, f.data)]));
}

function parseSigned(data: Uint8Array): { expires: string } & Record<string, unknown> {
  return (JSON.parse(Buffer.from(data).toString("utf8")) as { signed: { expires: string } }).signed;
}
