import { constants, verify } from "node:crypto";
import { fromBase64, isBase64 } from "../encoding.js";
import { keyFamily, toKeyObject } from "./keys.js";
import type { PublicKey, RoleKeys, Signature } from "./types.js";

/**
 * Checks one signature the way notary's verifiers do: `ecdsa` is r||s over SHA-256, `rsapss` uses
 * SHA-256 with a salt as long as the hash, `eddsa` (notary's name for Ed25519) signs the bytes as they are.
 */
export function verifySignature(key: PublicKey, signature: Signature, data: Uint8Array): boolean {
  if (typeof signature.sig !== "string" || !isBase64(signature.sig)) return false;
  const sig = fromBase64(signature.sig);
  const family = keyFamily(key);
  try {
    const object = toKeyObject(key);
    switch (signature.method) {
      case "ecdsa":
        return family === "ecdsa" && verify("sha256", data, { key: object, dsaEncoding: "ieee-p1363" }, sig);
      case "eddsa":
      case "ed25519":
        return family === "ed25519" && verify(null, data, object, sig);
      case "rsapss":
        return (
          family === "rsa" &&
          verify(
            "sha256",
            data,
            { key: object, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
            sig,
          )
        );
      case "rsapkcs1v15":
        return (
          family === "rsa" &&
          verify("sha256", data, { key: object, padding: constants.RSA_PKCS1_PADDING }, sig)
        );
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/** The distinct keys of `role` that made a valid signature over `data`. */
export function validSigners(
  signatures: readonly Signature[],
  role: RoleKeys,
  keys: Readonly<Record<string, PublicKey>>,
  data: Uint8Array,
): Set<string> {
  const valid = new Set<string>();
  for (const signature of signatures) {
    if (valid.has(signature.keyid) || !role.keyids.includes(signature.keyid)) continue;
    const key = keys[signature.keyid];
    if (key && verifySignature(key, signature, data)) valid.add(signature.keyid);
  }
  return valid;
}
