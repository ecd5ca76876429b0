/** Key pairs as cosign writes and reads them: PKCS#8 inside the encrypted file, PKIX PEM for the public key. */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import {
  decryptPrivateKeyPem,
  encryptPrivateKeyPem,
  SIGSTORE_PRIVATE_KEY_PEM_TYPE,
} from "./encrypted-key.js";
import { decodePem, encodePem } from "./pem.js";

export const PUBLIC_KEY_PEM_TYPE = "PUBLIC KEY";

export class CosignKeyError extends Error {
  override readonly name = "CosignKeyError";
}

export type KeyAlgorithm = "ecdsa-p256" | "ecdsa-p384" | "ed25519" | "rsa";

export interface CosignKeyPair {
  /** The encrypted private key file (`cosign.key`). */
  privateKeyPem: string;
  /** The PKIX public key file (`cosign.pub`). */
  publicKeyPem: string;
}

/** A fresh key pair, ECDSA P-256 unless asked otherwise, as `cosign generate-key-pair` makes. */
export function generateKeyPair(password: string, algorithm: KeyAlgorithm = "ecdsa-p256"): CosignKeyPair {
  const { privateKey, publicKey } = generate(algorithm);
  return {
    privateKeyPem: encryptPrivateKeyPem(
      new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" })),
      password,
      SIGSTORE_PRIVATE_KEY_PEM_TYPE,
    ),
    publicKeyPem: publicKeyToPem(publicKey),
  };
}

function generate(algorithm: KeyAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (algorithm) {
    case "ecdsa-p256":
      return generateKeyPairSync("ec", { namedCurve: "P-256" });
    case "ecdsa-p384":
      return generateKeyPairSync("ec", { namedCurve: "P-384" });
    case "ed25519":
      return generateKeyPairSync("ed25519");
    case "rsa":
      return generateKeyPairSync("rsa", { modulusLength: 4096 });
  }
}

export function publicKeyToPem(key: KeyObject): string {
  return encodePem(PUBLIC_KEY_PEM_TYPE, new Uint8Array(key.export({ format: "der", type: "spki" })));
}

/** The private key in a cosign key file, decrypted with its password. */
export function loadPrivateKey(pem: string, password: string): KeyObject {
  const der = decryptPrivateKeyPem(pem, password);
  try {
    return createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
  } catch {
    throw new CosignKeyError("parsing private key: the decrypted key is not PKCS#8");
  }
}

/** A PKIX (`PUBLIC KEY`) PEM public key of a kind cosign verifies with. */
export function parsePublicKeyPem(pem: string): KeyObject {
  const block = decodePem(pem);
  if (block.type !== PUBLIC_KEY_PEM_TYPE)
    throw new CosignKeyError(`unsupported public key PEM type: ${block.type}`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(block.bytes), format: "der", type: "spki" });
  } catch {
    throw new CosignKeyError("the public key is not a PKIX public key");
  }
  describeKey(key);
  return key;
}

/** What kind of key this is, or an error for kinds cosign does not verify with. */
export function describeKey(key: KeyObject): KeyAlgorithm {
  switch (key.asymmetricKeyType) {
    case "ec": {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === "prime256v1") return "ecdsa-p256";
      if (curve === "secp384r1") return "ecdsa-p384";
      throw new CosignKeyError(`unsupported ECDSA curve: ${curve}`);
    }
    case "ed25519":
      return "ed25519";
    case "rsa": {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < 2048) throw new CosignKeyError(`RSA key of ${bits} bits is too small`);
      return "rsa";
    }
    default:
      throw new CosignKeyError(`unsupported key type: ${key.asymmetricKeyType}`);
  }
}
