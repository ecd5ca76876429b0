import { createHash } from "node:crypto";
import { CosignKeyError, describeKey, type KeyAlgorithm, parsePublicKeyPem } from "../../core/cosign/keys.js";
import { PemError } from "../../core/cosign/pem.js";
import { PROJECT_CHANGES_CHANNEL } from "../projects/project-store.js";
import type { Db } from "../storage/db.js";
import type { Migration } from "../storage/migrations.js";

/**
 * A project's trusted cosign public keys, in a migration scope of their own after the projects'. A key
 * is stored as the PEM it was given; its fingerprint (SHA-256 of the PKIX DER) keeps one key from being
 * trusted twice under two names.
 */
export const cosignKeyMigrations: Migration[] = [
  {
    version: 1,
    name: "project_cosign_keys: the public keys whose cosign signatures a project trusts",
    sql: `
      CREATE TABLE project_cosign_keys (
        id serial PRIMARY KEY,
        project_id integer NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        name text NOT NULL,
        public_key text NOT NULL,
        algorithm text NOT NULL,
        fingerprint text NOT NULL,
        creator text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (project_id, name),
        UNIQUE (project_id, fingerprint)
      )
    `,
  },
];

export interface TrustedCosignKey {
  readonly id: number;
  readonly name: string;
  readonly publicKeyPem: string;
  readonly algorithm: KeyAlgorithm;
  /** `sha256:<hex>` of the key's PKIX DER. */
  readonly fingerprint: string;
  readonly creator: string;
  readonly createdAt: Date;
}

/** A key the store refuses: not a PEM public key of a kind cosign verifies with. */
export class InvalidCosignKeyError extends Error {
  override readonly name = "InvalidCosignKeyError";
}

/** The same key, or the same name, is already trusted by the project. */
export class DuplicateCosignKeyError extends Error {
  override readonly name = "DuplicateCosignKeyError";
}

interface KeyRow {
  id: number;
  name: string;
  public_key: string;
  algorithm: string;
  fingerprint: string;
  creator: string;
  created_at: Date;
}

/** Reads a PEM public key as cosign would, or says why it cannot be trusted. */
export function checkedPublicKey(pem: string): { algorithm: KeyAlgorithm; fingerprint: string } {
  try {
    const key = parsePublicKeyPem(pem);
    const der = key.export({ format: "der", type: "spki" });
    return {
      algorithm: describeKey(key),
      fingerprint: `sha256:${createHash("sha256").update(der).digest("hex")}`,
    };
  } catch (err) {
    if (err instanceof CosignKeyError || err instanceof PemError)
      throw new InvalidCosignKeyError(err.message);
    throw err;
  }
}

/**
 * Adding or removing a key NOTIFYs the projects' channel with the project's name, in the same
 * transaction, so that every process drops the project's cached keys and pull verdicts on commit.
 */
export class CosignKeyStore {
  constructor(private readonly db: Db) {}

  async list(projectId: number): Promise<TrustedCosignKey[]> {
    const rows = await this.db.query<KeyRow>(
      "SELECT * FROM project_cosign_keys WHERE project_id = $1 ORDER BY id",
      [projectId],
    );
    return rows.map(toKey);
  }

  /** The keys of the project named `project`, for the pull policy. */
  async listByProjectName(project: string): Promise<TrustedCosignKey[]> {
    const rows = await this.db.query<KeyRow>(
      `SELECT k.* FROM project_cosign_keys k JOIN projects p ON p.id = k.project_id
       WHERE p.name = $1 ORDER BY k.id`,
      [project],
    );
    return rows.map(toKey);
  }

  async add(
    projectId: number,
    key: { name: string; publicKeyPem: string; creator: string },
  ): Promise<TrustedCosignKey> {
    const { algorithm, fingerprint } = checkedPublicKey(key.publicKeyPem);
    return this.db.transaction(async (tx) => {
      const clash = await tx.query<{ name: string; fingerprint: string }>(
        "SELECT name, fingerprint FROM project_cosign_keys WHERE project_id = $1 AND (name = $2 OR fingerprint = $3)",
        [projectId, key.name, fingerprint],
      );
      const [first] = clash;
      if (first)
        throw new DuplicateCosignKeyError(
          first.fingerprint === fingerprint
            ? `the project already trusts this key, as ${first.name}`
            : `the project already has a key named ${key.name}`,
        );
      const [row] = await tx.query<KeyRow>(
        `INSERT INTO project_cosign_keys (project_id, name, public_key, algorithm, fingerprint, creator)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [projectId, key.name, key.publicKeyPem, algorithm, fingerprint, key.creator],
      );
      await announce(tx, projectId);
      if (!row) throw new Error("INSERT ... RETURNING gave no row");
      return toKey(row);
    });
  }

  /** False when the project has no key with this id. */
  async remove(projectId: number, keyId: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        "DELETE FROM project_cosign_keys WHERE project_id = $1 AND id = $2 RETURNING id",
        [projectId, keyId],
      );
      if (rows.length > 0) await announce(tx, projectId);
      return rows.length > 0;
    });
  }
}

async function announce(tx: { query: Db["query"] }, projectId: number): Promise<void> {
  await tx.query("SELECT pg_notify($1, name) FROM projects WHERE id = $2", [
    PROJECT_CHANGES_CHANNEL,
    projectId,
  ]);
}

function toKey(row: KeyRow): TrustedCosignKey {
  return {
    id: Number(row.id),
    name: row.name,
    publicKeyPem: row.public_key,
    algorithm: row.algorithm as KeyAlgorithm,
    fingerprint: row.fingerprint,
    creator: row.creator,
    createdAt: new Date(row.created_at),
  };
}
