import { generateKeyPairSync } from "node:crypto";
import { cosignFixtures, cosignFixtureText } from "../../test/support/cosign-fixtures.js";
import { fromBase64, toBase64, utf8 } from "../encoding.js";
import { parsePublicKeyPem } from "./keys.js";
import type { RekorBundle } from "./rekor-bundle.js";
import { signPayload } from "./signature.js";
import {
  BlobVerificationError,
  decodeSignatureFile,
  parseLocalSignedPayload,
  verifyBlob,
} from "./verify-blob.js";

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

describe("verify-blob with a Rekor entry, offline", () => {
  const fixture = cosignFixtures().find((f) => f.name === "cosign-key-rekor-valid");
  const layer = fixture?.signatures[0];
  if (!fixture || !layer) throw new Error("fixture cosign-key-rekor-valid missing");
  const key = parsePublicKeyPem(cosignFixtureText(fixture.verifyWith));
  const rekor = parsePublicKeyPem(cosignFixtureText("rekor.pub"));
  const signatureBase64 = layer.annotations["dev.cosignproject.cosign/signature"] ?? "";
  const local = parseLocalSignedPayload(
    JSON.stringify({
      base64Signature: signatureBase64,
      rekorBundle: JSON.parse(layer.annotations["dev.sigstore.cosign/bundle"] ?? "{}"),
    }),
  );

  test("cosign's signature over the payload, with its Rekor entry checked against Rekor's key", () => {
    if (!local.rekorBundle) throw new Error("no Rekor bundle parsed");
    expect(() =>
      verifyBlob(
        layer.payload,
        fromBase64(local.base64Signature),
        { kind: "key", key },
        {
          bundle: local.rekorBundle as RekorBundle,
          rekorPublicKeys: [rekor],
        },
      ),
    ).not.toThrow();
  });

  test("the Rekor entry checked against another key is refused", () => {
    expect(() =>
      verifyBlob(
        layer.payload,
        fromBase64(signatureBase64),
        { kind: "key", key },
        {
          bundle: local.rekorBundle as RekorBundle,
          rekorPublicKeys: [key],
        },
      ),
    ).toThrow("not one of the given Rekor keys");
  });

  test("a bundle without a base64Signature is not one", () => {
    expect(() => parseLocalSignedPayload("{}")).toThrow("no base64Signature");
  });
});
