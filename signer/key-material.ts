import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { canonicalJson } from "../core/canonical-json.js";
import type { KeyAlgorithm, TufPublicKey } from "./protocol.js";

export interface GeneratedKey {
  readonly keyId: string;
  readonly algorithm: KeyAlgorithm;
  readonly publicKey: TufPublicKey;
  readonly privateKey: KeyObject;
}

export function generateKey(algorithm: KeyAlgorithm): GeneratedKey {
  const { publicKey, privateKey } =
    algorithm === "ecdsa"
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : generateKeyPairSync("ed25519");
  const tuf = tufPublicKey(algorithm, publicKey);
  return { keyId: keyIdOf(tuf), algorithm, publicKey: tuf, privateKey };
}

/** Notary's encodings: PKIX (SPKI) DER for ECDSA, the raw 32 bytes for Ed25519, both base64. */
export function tufPublicKey(algorithm: KeyAlgorithm, publicKey: KeyObject): TufPublicKey {
  if (algorithm === "ecdsa") {
    const spki = publicKey.export({ type: "spki", format: "der" });
    return { keytype: "ecdsa", keyval: { public: spki.toString("base64"), private: null } };
  }
  // An Ed25519 JWK's `x` is exactly the raw public key.
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x ?? "", "base64url");
  return { keytype: "ed25519", keyval: { public: raw.toString("base64"), private: null } };
}

/** TUF's key ID, as notary computes it: hex SHA-256 of the public key's canonical JSON. */
export function keyIdOf(publicKey: TufPublicKey): string {
  return createHash("sha256").update(canonicalJson(publicKey)).digest("hex");
}

export function privateKeyToPkcs8(privateKey: KeyObject): Buffer {
  return privateKey.export({ type: "pkcs8", format: "der" });
}

export function privateKeyFromPkcs8(der: Uint8Array): KeyObject {
  // A view, not a copy, so that zeroing `der` afterwards leaves no plaintext copy behind.
  return createPrivateKey({
    key: Buffer.from(der.buffer, der.byteOffset, der.byteLength),
    format: "der",
    type: "pkcs8",
  });
}

/** ECDSA as r||s (IEEE P1363) over SHA-256 of the data, Ed25519 over the data itself, as notary verifies them. */
export function signData(algorithm: KeyAlgorithm, privateKey: KeyObject, data: Uint8Array): Buffer {
  return algorithm === "ecdsa"
    ? sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" })
    : sign(null, data, privateKey);
}
