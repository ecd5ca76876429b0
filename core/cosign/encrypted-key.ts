/**
 * cosign's encrypted private key file: a PEM block whose bytes are the JSON that go-securesystemslib's
 * `encrypted.Encrypt` writes (scrypt derives a key from the password, NaCl secretbox seals the PKCS#8 DER
 * of the private key). Go marshals []byte as padded standard base64 and keeps struct field order, so the
 * JSON below is built in that order to come out as cosign's does.
 */
import { randomBytes } from "node:crypto";
import { scrypt } from "@noble/hashes/scrypt.js";
import nacl from "tweetnacl";
import { fromBase64, isBase64, toBase64 } from "../encoding.js";
import { decodePem, encodePem } from "./pem.js";

export const SIGSTORE_PRIVATE_KEY_PEM_TYPE = "ENCRYPTED SIGSTORE PRIVATE KEY";
/** What cosign wrote before v2; cosign still reads it, and so do we. */
export const COSIGN_PRIVATE_KEY_PEM_TYPE = "ENCRYPTED COSIGN PRIVATE KEY";

export const KDF_NAME = "scrypt";
export const CIPHER_NAME = "nacl/secretbox";
const SALT_SIZE = 32;
const KEY_SIZE = nacl.secretbox.keyLength;
const NONCE_SIZE = nacl.secretbox.nonceLength;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** What cosign writes (go-securesystemslib's "legacy" strength). */
export const COSIGN_SCRYPT_PARAMS: ScryptParams = { N: 32768, r: 8, p: 1 };

/**
 * The parameter sets go-securesystemslib accepts when decrypting (legacy, standard, OWASP); anything
 * else is refused before deriving, so a tampered file cannot make us spend unbounded memory.
 */
const ACCEPTED_SCRYPT_PARAMS: readonly ScryptParams[] = [
  COSIGN_SCRYPT_PARAMS,
  { N: 65536, r: 8, p: 1 },
  { N: 131072, r: 8, p: 1 },
];

export interface EncryptedKeyJson {
  kdf: { name: string; params: ScryptParams; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

export class EncryptedKeyError extends Error {
  override readonly name = "EncryptedKeyError";
}

function deriveKey(password: Uint8Array, salt: Uint8Array, params: ScryptParams): Uint8Array {
  return scrypt(password, salt, { N: params.N, r: params.r, p: params.p, dkLen: KEY_SIZE });
}

/** Seals `plaintext` under `password` as go-securesystemslib does; returns the JSON bytes. */
export function encryptWithPassword(plaintext: Uint8Array, password: Uint8Array): Uint8Array {
  const salt = new Uint8Array(randomBytes(SALT_SIZE));
  const nonce = new Uint8Array(randomBytes(NONCE_SIZE));
  const key = deriveKey(password, salt, COSIGN_SCRYPT_PARAMS);
  const sealed: EncryptedKeyJson = {
    kdf: { name: KDF_NAME, params: { ...COSIGN_SCRYPT_PARAMS }, salt: toBase64(salt) },
    cipher: { name: CIPHER_NAME, nonce: toBase64(nonce) },
    ciphertext: toBase64(nacl.secretbox(plaintext, nonce, key)),
  };
  return new TextEncoder().encode(JSON.stringify(sealed));
}

/** Opens what `encryptWithPassword` (or go-securesystemslib) sealed; a wrong password is an error. */
export function decryptWithPassword(sealedJson: Uint8Array, password: Uint8Array): Uint8Array {
  const sealed = parseSealed(sealedJson);
  const { params } = sealed.kdf;
  if (!ACCEPTED_SCRYPT_PARAMS.some((p) => p.N === params.N && p.r === params.r && p.p === params.p))
    throw new EncryptedKeyError(`unsupported scrypt parameters N=${params.N} r=${params.r} p=${params.p}`);
  const salt = fromStrictBase64(sealed.kdf.salt, "kdf.salt");
  const nonce = fromStrictBase64(sealed.cipher.nonce, "cipher.nonce");
  if (nonce.length !== NONCE_SIZE) throw new EncryptedKeyError("encrypted: incorrect nonce size");
  const ciphertext = fromStrictBase64(sealed.ciphertext, "ciphertext");
  const opened = nacl.secretbox.open(ciphertext, nonce, deriveKey(password, salt, params));
  if (!opened) throw new EncryptedKeyError("decryption failed: wrong password or damaged key file");
  return opened;
}

function parseSealed(sealedJson: Uint8Array): EncryptedKeyJson {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(sealedJson));
  } catch {
    throw new EncryptedKeyError("the encrypted key is not JSON");
  }
  const sealed = value as Partial<EncryptedKeyJson> | null;
  const kdf = sealed?.kdf;
  const cipher = sealed?.cipher;
  if (typeof kdf !== "object" || kdf === null) throw new EncryptedKeyError("the encrypted key has no kdf");
  if (kdf.name !== KDF_NAME) throw new EncryptedKeyError(`unknown kdf name ${JSON.stringify(kdf.name)}`);
  if (typeof cipher !== "object" || cipher === null)
    throw new EncryptedKeyError("the encrypted key has no cipher");
  if (cipher.name !== CIPHER_NAME)
    throw new EncryptedKeyError(`unknown cipher name ${JSON.stringify(cipher.name)}`);
  const params = kdf.params;
  if (
    typeof params !== "object" ||
    params === null ||
    ![params.N, params.r, params.p].every((n) => Number.isSafeInteger(n))
  )
    throw new EncryptedKeyError("the encrypted key's scrypt parameters are not integers");
  for (const [field, text] of [
    ["kdf.salt", kdf.salt],
    ["cipher.nonce", cipher.nonce],
    ["ciphertext", sealed?.ciphertext],
  ] as const)
    if (typeof text !== "string") throw new EncryptedKeyError(`the encrypted key has no ${field}`);
  return sealed as EncryptedKeyJson;
}

/** The PEM cosign writes for a private key: its PKCS#8 DER sealed under the password. */
export function encryptPrivateKeyPem(
  pkcs8Der: Uint8Array,
  password: string,
  pemType: string = SIGSTORE_PRIVATE_KEY_PEM_TYPE,
): string {
  return encodePem(pemType, encryptWithPassword(pkcs8Der, new TextEncoder().encode(password)));
}

/** The PKCS#8 DER inside a cosign key file, of either PEM type cosign reads. */
export function decryptPrivateKeyPem(pem: string, password: string): Uint8Array {
  const block = decodePem(pem);
  if (block.type !== SIGSTORE_PRIVATE_KEY_PEM_TYPE && block.type !== COSIGN_PRIVATE_KEY_PEM_TYPE)
    throw new EncryptedKeyError(`unsupported pem type: ${block.type}`);
  return decryptWithPassword(block.bytes, new TextEncoder().encode(password));
}

function fromStrictBase64(text: string, field: string): Uint8Array {
  if (!isBase64(text)) throw new EncryptedKeyError(`the encrypted key's ${field} is not base64`);
  return fromBase64(text);
}
