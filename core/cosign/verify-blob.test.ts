import { generateKeyPairSync } from "node:crypto";
import { toBase64, utf8 } from "../encoding.js";
import { signPayload } from "./signature.js";
import { BlobVerificationError, decodeSignatureFile, verifyBlob } from "./verify-blob.js";

describe("verify-blob", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const blob = utf8("hello, blob\n");
  const signature = signPayload(privateKey, blob);

  test("a signature file is read as base64 when it is base64, line breaks and all, else as raw bytes", () => {
    expect(decodeSignatureFile(utf8(toBase64(signature)))).toEqual(signature);
    expect(decodeSignatureFile(utf8(`${toBase64(signature)}\n`))).toEqual(signature);
    expect(decodeSignatureFile(signature)).toEqual(signature);
  });

  test("the signature verifies over the exact bytes with the key", () => {
    expect(() => verifyBlob(blob, signature, { kind: "key", key: publicKey })).not.toThrow();
  });

  test("another blob, another key or a truncated signature fail in cosign's words", () => {
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
    expect(() => verifyBlob(utf8("hello, blob"), signature, { kind: "key", key: publicKey })).toThrow(
      "invalid signature when validating ASN.1 encoded signature",
    );
    expect(() => verifyBlob(blob, signature, { kind: "key", key: other })).toThrow(BlobVerificationError);
    expect(() => verifyBlob(blob, signature.subarray(0, 20), { kind: "key", key: publicKey })).toThrow(
      /truncated: 20 of 7[0-2] bytes/,
    );
  });

  test.each([
    ["ECDSA P-384", generateKeyPairSync("ec", { namedCurve: "P-384" })],
    ["Ed25519", generateKeyPairSync("ed25519")],
    ["RSA", generateKeyPairSync("rsa", { modulusLength: 2048 })],
  ] as const)("%s keys verify blobs too, and only their own signatures", (_name, pair) => {
    const own = signPayload(pair.privateKey, blob);
    expect(() => verifyBlob(blob, own, { kind: "key", key: pair.publicKey })).not.toThrow();
    expect(() => verifyBlob(utf8("other"), own, { kind: "key", key: pair.publicKey })).toThrow(
      BlobVerificationError,
    );
  });
});
