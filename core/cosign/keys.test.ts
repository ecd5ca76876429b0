import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { cosignFixtureText } from "../../test/support/cosign-fixtures.js";
import { CosignKeyError, describeKey, generateKeyPair, loadPrivateKey, parsePublicKeyPem } from "./keys.js";
import { decodePem } from "./pem.js";
import { keyVectors } from "./testdata/vectors.js";

describe("cosign key pairs", () => {
  test("a generated pair is ECDSA P-256, its private key encrypted as cosign writes it, its public key PKIX PEM", () => {
    const pair = generateKeyPair("correct horse");
    const block = decodePem(pair.privateKeyPem);
    expect(block.type).toBe("ENCRYPTED SIGSTORE PRIVATE KEY");
    const sealed = JSON.parse(Buffer.from(block.bytes).toString("utf8"));
    expect(Object.keys(sealed)).toEqual(["kdf", "cipher", "ciphertext"]);
    expect(sealed.kdf).toMatchObject({ name: "scrypt", params: { N: 32768, r: 8, p: 1 } });
    expect(sealed.cipher.name).toBe("nacl/secretbox");
    expect(pair.publicKeyPem).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n(?:.{64}\n)+.{1,64}\n-----END PUBLIC KEY-----\n$/,
    );
    const privateKey = loadPrivateKey(pair.privateKeyPem, "correct horse");
    expect(describeKey(privateKey)).toBe("ecdsa-p256");
    expect(createPublicKey(privateKey).export({ format: "pem", type: "spki" })).toBe(pair.publicKeyPem);
  });

  test.each([
    ["ENCRYPTED COSIGN PRIVATE KEY, scrypt N=32768", keyVectors.cosign_generate_key_pair],
    ["ENCRYPTED SIGSTORE PRIVATE KEY, scrypt N=65536", keyVectors.cosign_v2_sigstore_key],
  ])(
    "a key file cosign wrote (%s) loads with its password and pairs with its public key",
    (_what, vector) => {
      const privateKey = loadPrivateKey(vector.private_key_pem, vector.password);
      expect(createPublicKey(privateKey).export({ format: "pem", type: "spki" })).toBe(vector.public_key_pem);
    },
  );

  test("the fixtures' public keys parse as ECDSA P-256", () => {
    for (const file of ["cosign.pub", "cosign2.pub", "rekor.pub"])
      expect(describeKey(parsePublicKeyPem(cosignFixtureText(file)))).toBe("ecdsa-p256");
  });

  test("P-384, Ed25519 and RSA public keys are accepted; small RSA and other curves are not", () => {
    const pem = (key: ReturnType<typeof generateKeyPairSync>["publicKey"]) =>
      key.export({ format: "pem", type: "spki" }).toString();
    expect(
      describeKey(parsePublicKeyPem(pem(generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey))),
    ).toBe("ecdsa-p384");
    expect(describeKey(parsePublicKeyPem(pem(generateKeyPairSync("ed25519").publicKey)))).toBe("ed25519");
    expect(
      describeKey(parsePublicKeyPem(pem(generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey))),
    ).toBe("rsa");
    expect(() =>
      parsePublicKeyPem(pem(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey)),
    ).toThrow(CosignKeyError);
    expect(() =>
      parsePublicKeyPem(pem(generateKeyPairSync("ec", { namedCurve: "secp256k1" }).publicKey)),
    ).toThrow("unsupported ECDSA curve");
  });

  test("a private key PEM is not taken as a public key", () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    expect(() => parsePublicKeyPem(privateKey.export({ format: "pem", type: "pkcs8" }).toString())).toThrow(
      "unsupported public key PEM type: PRIVATE KEY",
    );
  });
});
