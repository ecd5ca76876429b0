import { generateKeyPairSync } from "node:crypto";
import { utf8 } from "../encoding.js";
import { signPayload, verifyPayloadSignature } from "./signature.js";

describe("signatures over a payload's exact bytes", () => {
  test.each([
    ["ECDSA P-256", generateKeyPairSync("ec", { namedCurve: "P-256" })],
    ["ECDSA P-384", generateKeyPairSync("ec", { namedCurve: "P-384" })],
    ["Ed25519", generateKeyPairSync("ed25519")],
    ["RSA", generateKeyPairSync("rsa", { modulusLength: 2048 })],
  ] as const)("%s: verifies the signed bytes and nothing else", (_name, { privateKey, publicKey }) => {
    const payload = utf8('{"critical":{}}');
    const signature = signPayload(privateKey, payload);
    expect(verifyPayloadSignature(publicKey, payload, signature)).toBe(true);
    expect(verifyPayloadSignature(publicKey, utf8('{"critical":{} }'), signature)).toBe(false);
    expect(verifyPayloadSignature(publicKey, payload, signature.subarray(0, signature.length - 1))).toBe(
      false,
    );
  });

  test("an ECDSA signature is ASN.1 DER over the payload's SHA-256", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const signature = signPayload(privateKey, utf8("x"));
    expect(signature[0]).toBe(0x30);
    expect(signature[1]).toBe(signature.length - 2);
    expect(verifyPayloadSignature(publicKey, utf8("x"), signature)).toBe(true);
  });

  test("a key of a kind cosign does not verify with verifies nothing", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-521" });
    const payload = utf8("x");
    expect(verifyPayloadSignature(publicKey, payload, signPayload(privateKey, payload))).toBe(false);
  });
});
