import { createHash, createPublicKey, verify } from "node:crypto";
import { canonicalJson } from "../core/canonical-json.js";
import { generateKey, keyIdOf, privateKeyFromPkcs8, privateKeyToPkcs8, signData } from "./key-material.js";

describe("generateKey", () => {
  it("encodes an ECDSA P-256 public key as base64 PKIX DER, as notary does", () => {
    const key = generateKey("ecdsa");
    expect(key.publicKey.keytype).toBe("ecdsa");
    expect(key.publicKey.keyval.private).toBeNull();
    const publicKey = createPublicKey({
      key: Buffer.from(key.publicKey.keyval.public, "base64"),
      format: "der",
      type: "spki",
    });
    expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
  });

  it("encodes an Ed25519 public key as its raw 32 bytes", () => {
    const key = generateKey("ed25519");
    expect(key.publicKey.keytype).toBe("ed25519");
    expect(Buffer.from(key.publicKey.keyval.public, "base64")).toHaveLength(32);
  });

  it("derives the key ID from the canonical JSON of the public key", () => {
    const key = generateKey("ecdsa");
    const expected = createHash("sha256").update(canonicalJson(key.publicKey)).digest("hex");
    expect(key.keyId).toBe(expected);
    expect(keyIdOf(key.publicKey)).toBe(expected);
  });
});

describe("signData", () => {
  const data = new TextEncoder().encode('{"signed":{"_type":"timestamp"}}');

  it("makes a 64-byte r||s ECDSA signature over SHA-256 of the data", () => {
    const key = generateKey("ecdsa");
    const signature = signData("ecdsa", key.privateKey, data);
    expect(signature).toHaveLength(64);
    const publicKey = createPublicKey(key.privateKey);
    expect(verify("sha256", data, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature)).toBe(true);
  });

  it("makes a 64-byte Ed25519 signature over the data itself", () => {
    const key = generateKey("ed25519");
    const signature = signData("ed25519", key.privateKey, data);
    expect(signature).toHaveLength(64);
    const publicKey = createPublicKey({
      key: {
        kty: "OKP",
        crv: "Ed25519",
        x: Buffer.from(key.publicKey.keyval.public, "base64").toString("base64url"),
      },
      format: "jwk",
    });
    expect(verify(null, data, publicKey, signature)).toBe(true);
  });

  it("signs the same after a round trip through PKCS#8", () => {
    const key = generateKey("ed25519");
    const restored = privateKeyFromPkcs8(privateKeyToPkcs8(key.privateKey));
    expect(signData("ed25519", restored, data)).toEqual(signData("ed25519", key.privateKey, data));
  });
});
