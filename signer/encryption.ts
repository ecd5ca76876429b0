import { createCipheriv, createDecipheriv, randomBytes, scrypt } from "node:crypto";
import { SignerError } from "./errors.js";
import { type Passphrases, passphraseVariable } from "./passphrases.js";

// Blob format 1: version (1) | scrypt salt (16) | GCM nonce (12) | GCM tag (16) | ciphertext.
const FORMAT_1 = 1;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + SALT_BYTES + NONCE_BYTES + TAG_BYTES;
// Format 1's scrypt cost (about 32 MiB and 0.1 s): changing it needs a new format number.
const SCRYPT_COST = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const MAX_CACHED_KEYS = 1024;

/**
 * Encrypts private keys with AES-256-GCM under a key scrypt derives from an alias's passphrase. The key ID
 * is bound as associated data, so a blob copied onto another key's row does not decrypt.
 *
 * One sealer uses one salt per alias and caches derived keys by (alias, salt): scrypt then runs once per
 * alias and process instead of on every key creation and signature, and each blob still carries its salt.
 */
export class PassphraseSealer {
  private readonly sealingSalts = new Map<string, Buffer>();
  private readonly derivedKeys = new Map<string, Promise<Buffer>>();

  constructor(private readonly passphrases: Passphrases) {}

  async seal(plaintext: Uint8Array, alias: string, keyId: string): Promise<Buffer> {
    let salt = this.sealingSalts.get(alias);
    if (salt === undefined) {
      salt = randomBytes(SALT_BYTES);
      this.sealingSalts.set(alias, salt);
    }
    const header = Buffer.from([FORMAT_1]);
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", await this.derive(alias, salt), nonce);
    cipher.setAAD(associatedData(keyId));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, salt, nonce, cipher.getAuthTag(), ciphertext]);
  }

  /** The plaintext, which the caller should zero once used. */
  async unseal(blob: Uint8Array, alias: string, keyId: string): Promise<Buffer> {
    if (blob.length < HEADER_BYTES || blob[0] !== FORMAT_1) {
      throw new SignerError("DECRYPTION_FAILED", `the stored private key ${keyId} is in an unknown format`);
    }
    const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
    const salt = bytes.subarray(1, 1 + SALT_BYTES);
    const nonce = bytes.subarray(1 + SALT_BYTES, 1 + SALT_BYTES + NONCE_BYTES);
    const tag = bytes.subarray(1 + SALT_BYTES + NONCE_BYTES, HEADER_BYTES);
    const decipher = createDecipheriv("aes-256-gcm", await this.derive(alias, salt), nonce);
    decipher.setAAD(associatedData(keyId));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(bytes.subarray(HEADER_BYTES)), decipher.final()]);
    } catch (err) {
      throw new SignerError(
        "DECRYPTION_FAILED",
        `the passphrase in ${passphraseVariable(alias)} does not decrypt private key ${keyId}: wrong passphrase, or the stored key is damaged`,
        { cause: err },
      );
    }
  }

  private derive(alias: string, salt: Buffer): Promise<Buffer> {
    const cacheKey = `${alias}:${salt.toString("hex")}`;
    let derived = this.derivedKeys.get(cacheKey);
    if (derived === undefined) {
      // Unicode passphrases typed on different systems may differ in normalization only.
      derived = scryptKey(this.passphrases.passphraseFor(alias).normalize("NFC"), salt);
      derived.catch(() => this.derivedKeys.delete(cacheKey));
      if (this.derivedKeys.size >= MAX_CACHED_KEYS) {
        const oldest = this.derivedKeys.keys().next().value;
        if (oldest !== undefined) this.derivedKeys.delete(oldest);
      }
      this.derivedKeys.set(cacheKey, derived);
    }
    return derived;
  }
}

function associatedData(keyId: string): Buffer {
  return Buffer.from(`trustdock-signer-key:${keyId}`, "utf8");
}

function scryptKey(passphrase: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(passphrase, salt, 32, SCRYPT_COST, (err, key) => (err ? reject(err) : resolve(key))),
  );
}
