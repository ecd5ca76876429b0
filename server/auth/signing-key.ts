import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import type { Queryable } from "../storage/db.js";
import { selfSignedCertificate } from "../tls/certificate-authority.js";
import { libtrustKeyId } from "./key-id.js";

/** The ECDSA P-256 key every server process on one database signs and checks tokens with. */
export interface SigningKey {
  /** JWT `kid`: the key's libtrust ID, which distribution and notary-server look tokens' keys up by. */
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

const KEY_NAME = "token";
const ALGORITHM = "ES256";

async function readKey(db: Queryable): Promise<SigningKey | undefined> {
  const [row] = await db.query<{ algorithm: string; private_key: Uint8Array }>(
    "SELECT algorithm, private_key FROM token_signing_keys WHERE name = $1",
    [KEY_NAME],
  );
  if (!row) return undefined;
  if (row.algorithm !== ALGORITHM) {
    throw new Error(`token signing key has algorithm ${row.algorithm}, not ${ALGORITHM}`);
  }
  const privateKey = createPrivateKey({ key: Buffer.from(row.private_key), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey(privateKey);
  return { kid: libtrustKeyId(publicKey), privateKey, publicKey };
}

/** The stored key, created by whichever process gets there first; the others read the winner's. */
export async function loadSigningKey(db: Queryable): Promise<SigningKey> {
  const existing = await readKey(db);
  if (existing) return existing;
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  await db.query(
    "INSERT INTO token_signing_keys (name, algorithm, private_key) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    [KEY_NAME, ALGORITHM, privateKey.export({ format: "der", type: "pkcs8" })],
  );
  const stored = await readKey(db);
  if (!stored) throw new Error("token signing key vanished right after it was stored");
  return stored;
}

/**
 * The token key's certificate, for a registry or notary-server that should trust Trustdock's tokens
 * (their `auth.token.rootcertbundle`). They take the key from it and match tokens by `kid`, so the
 * certificate is self-signed and any process may make a fresh one.
 */
export function signingKeyCertificate(key: SigningKey): string {
  return selfSignedCertificate("Trustdock token signer", key.privateKey, 3650);
}
