import type { KeyObject } from "node:crypto";
import type { Db } from "../server/storage/db.js";
import { PassphraseSealer } from "./encryption.js";
import { keyNotFound, SignerError } from "./errors.js";
import { generateKey, privateKeyFromPkcs8, privateKeyToPkcs8, signData } from "./key-material.js";
import { normalizeAlias, type Passphrases, passphrasesFromEnv } from "./passphrases.js";
import {
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  SIGNATURE_METHODS,
  type SignatureMethod,
  type TufPublicKey,
} from "./protocol.js";

export interface KeyRecord {
  readonly keyId: string;
  readonly algorithm: KeyAlgorithm;
  readonly publicKey: TufPublicKey;
}

/** What a key is for, kept for operators; the signer itself never looks at it. */
export interface KeyLabels {
  readonly gun?: string;
  readonly role?: string;
}

export interface KeySignature {
  readonly keyId: string;
  readonly method: SignatureMethod;
  readonly signature: Uint8Array;
}

interface SealedRow {
  key_id: string;
  algorithm: string;
  encrypted_private_key: Uint8Array;
  passphrase_alias: string;
}

/** Private keys encrypted at rest in `signer_keys`; they are decrypted only to sign, and never returned. */
interface UnsealedKey {
  readonly algorithm: KeyAlgorithm;
  readonly privateKey: KeyObject;
}

const MAX_KEYS_IN_USE = 10_000;

export class KeyStore {
  private readonly sealer: PassphraseSealer;
  private readonly inUse = new Map<string, UnsealedKey>();

  constructor(
    private readonly db: Db,
    private readonly passphrases: Passphrases,
  ) {
    this.sealer = new PassphraseSealer(passphrases);
  }

  /** Resolves only once the key is committed, so an acknowledged key survives a crash. */
  async create(algorithm: KeyAlgorithm, labels: KeyLabels = {}): Promise<KeyRecord> {
    const key = generateKey(algorithm);
    const alias = this.passphrases.defaultAlias;
    const pkcs8 = privateKeyToPkcs8(key.privateKey);
    const sealed = await this.sealer.seal(pkcs8, alias, key.keyId).finally(() => pkcs8.fill(0));
    await this.db.query(
      "INSERT INTO signer_keys (key_id, algorithm, public_key, encrypted_private_key, passphrase_alias, gun, role) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      [
        key.keyId,
        algorithm,
        JSON.stringify(key.publicKey),
        sealed,
        alias,
        labels.gun ?? null,
        labels.role ?? null,
      ],
    );
    return { keyId: key.keyId, algorithm, publicKey: key.publicKey };
  }

  async get(keyId: string): Promise<KeyRecord> {
    const [row] = await this.db.query<{ algorithm: string; public_key: string }>(
      "SELECT algorithm, public_key FROM signer_keys WHERE key_id = $1",
      [keyId],
    );
    if (row === undefined) throw keyNotFound(keyId);
    return { keyId, algorithm: storedAlgorithm(keyId, row.algorithm), publicKey: JSON.parse(row.public_key) };
  }

  async sign(keyId: string, data: Uint8Array): Promise<KeySignature> {
    const { algorithm, privateKey } = this.inUse.get(keyId) ?? (await this.unsealForUse(keyId));
    const signature = signData(algorithm, privateKey, data);
    return { keyId, method: SIGNATURE_METHODS[algorithm], signature };
  }

  /**
   * Decrypts a key for signing and keeps it in this process's memory (never on disk, never sent): every
   * publish signs with the same two keys, and reading and decrypting them each time was half its cost.
   */
  private async unsealForUse(keyId: string): Promise<UnsealedKey> {
    const [row] = await this.db.query<SealedRow>(
      "SELECT key_id, algorithm, encrypted_private_key, passphrase_alias FROM signer_keys WHERE key_id = $1",
      [keyId],
    );
    if (row === undefined) throw keyNotFound(keyId);
    const algorithm = storedAlgorithm(keyId, row.algorithm);
    const pkcs8 = await this.sealer.unseal(row.encrypted_private_key, row.passphrase_alias, keyId);
    try {
      const unsealed = { algorithm, privateKey: privateKeyFromPkcs8(pkcs8) };
      if (this.inUse.size >= MAX_KEYS_IN_USE) this.inUse.clear();
      this.inUse.set(keyId, unsealed);
      return unsealed;
    } finally {
      pkcs8.fill(0);
    }
  }

  async delete(keyId: string): Promise<void> {
    const deleted = await this.db.query("DELETE FROM signer_keys WHERE key_id = $1 RETURNING key_id", [
      keyId,
    ]);
    this.inUse.delete(keyId);
    if (deleted.length === 0) throw keyNotFound(keyId);
  }

  /**
   * Decrypts one key per alias in use and checks the default alias has a passphrase, so a misconfigured
   * signer refuses to start instead of failing its first signature.
   */
  async checkPassphrases(): Promise<void> {
    this.passphrases.passphraseFor(this.passphrases.defaultAlias);
    const samples = await this.db.query<SealedRow>(
      "SELECT DISTINCT ON (passphrase_alias) key_id, algorithm, encrypted_private_key, passphrase_alias FROM signer_keys ORDER BY passphrase_alias, key_id",
    );
    for (const row of samples) {
      (await this.sealer.unseal(row.encrypted_private_key, row.passphrase_alias, row.key_id)).fill(0);
    }
  }
}

/**
 * Re-encrypts every key not yet under `newAlias` with that alias's passphrase, all in one transaction:
 * a passphrase rotation either happens for every key or for none. Returns how many keys it re-encrypted.
 */
export async function reencryptKeys(
  db: Db,
  newAlias: string,
  passphrases: Passphrases = passphrasesFromEnv(),
): Promise<number> {
  const alias = normalizeAlias(newAlias);
  passphrases.passphraseFor(alias);
  const sealer = new PassphraseSealer(passphrases);
  return db.transaction(async (tx) => {
    const rows = await tx.query<SealedRow>(
      "SELECT key_id, algorithm, encrypted_private_key, passphrase_alias FROM signer_keys WHERE passphrase_alias <> $1 ORDER BY key_id FOR UPDATE",
      [alias],
    );
    for (const row of rows) {
      const pkcs8 = await sealer.unseal(row.encrypted_private_key, row.passphrase_alias, row.key_id);
      const sealed = await sealer.seal(pkcs8, alias, row.key_id).finally(() => pkcs8.fill(0));
      await tx.query(
        "UPDATE signer_keys SET encrypted_private_key = $2, passphrase_alias = $3 WHERE key_id = $1",
        [row.key_id, sealed, alias],
      );
    }
    return rows.length;
  });
}

function storedAlgorithm(keyId: string, algorithm: string): KeyAlgorithm {
  const known = KEY_ALGORITHMS.find((a) => a === algorithm);
  if (known === undefined)
    throw new SignerError("INTERNAL", `key ${keyId} has an unknown algorithm "${algorithm}"`);
  return known;
}
