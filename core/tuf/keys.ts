import { createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { canonicalJsonBytes } from "../canonical-json.js";
import { sha256Hex } from "../digest.js";
import { fromBase64, isBase64 } from "../encoding.js";
import type { PublicKey } from "./types.js";

export class KeyFormatError extends Error {
  override readonly name = "KeyFormatError";
}

/** Notary's key ID: sha256 of the canonical JSON of the public key, with `private` always null. */
export function keyId(key: PublicKey): string {
  return sha256Hex(
    canonicalJsonBytes({ keytype: key.keytype, keyval: { private: null, public: key.keyval.public } }),
  );
}

/** The key types notary writes, and the family each belongs to (which signature methods apply). */
const KEY_FAMILIES: Record<string, "ecdsa" | "rsa" | "ed25519"> = {
  ecdsa: "ecdsa",
  "ecdsa-x509": "ecdsa",
  rsa: "rsa",
  "rsa-x509": "rsa",
  ed25519: "ed25519",
};

export function keyFamily(key: PublicKey): "ecdsa" | "rsa" | "ed25519" | undefined {
  return KEY_FAMILIES[key.keytype];
}

const parsed = new Map<string, KeyObject>();

/** Parses a TUF public key into a node KeyObject; cached, since the same keys verify every request. */
export function toKeyObject(key: PublicKey): KeyObject {
  const cacheKey = `${key.keytype}:${key.keyval.public}`;
  const hit = parsed.get(cacheKey);
  if (hit) return hit;
  const object = parse(key);
  if (parsed.size > 10_000) parsed.clear();
  parsed.set(cacheKey, object);
  return object;
}

function parse(key: PublicKey): KeyObject {
  const value = key.keyval.public;
  if (typeof value !== "string" || !isBase64(value))
    throw new KeyFormatError(`${key.keytype} key is not base64`);
  const bytes = Buffer.from(fromBase64(value));
  try {
    switch (key.keytype) {
      case "ecdsa":
      case "rsa":
        return createPublicKey({ key: bytes, format: "der", type: "spki" });
      case "ecdsa-x509":
      case "rsa-x509":
        return new X509Certificate(bytes).publicKey;
      case "ed25519":
        if (bytes.length !== 32) throw new KeyFormatError("ed25519 key must be 32 bytes");
        return createPublicKey({
          key: { kty: "OKP", crv: "Ed25519", x: bytes.toString("base64url") },
          format: "jwk",
        });
      default:
        throw new KeyFormatError(`unsupported key type ${key.keytype}`);
    }
  } catch (err) {
    if (err instanceof KeyFormatError) throw err;
    throw new KeyFormatError(`${key.keytype} key does not parse: ${(err as Error).message}`);
  }
}
