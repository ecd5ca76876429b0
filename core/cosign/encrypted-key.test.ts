import { createPrivateKey, createPublicKey } from "node:crypto";
import { utf8 } from "../encoding.js";
import {
  COSIGN_PRIVATE_KEY_PEM_TYPE,
  decryptPrivateKeyPem,
  decryptWithPassword,
  EncryptedKeyError,
  encryptPrivateKeyPem,
  encryptWithPassword,
  SIGSTORE_PRIVATE_KEY_PEM_TYPE,
} from "./encrypted-key.js";
import { decodePem } from "./pem.js";
import { keyVectors } from "./testdata/vectors.js";

const go = keyVectors.go_securesystemslib_vectors;

describe("go-securesystemslib's encrypted format", () => {
  test.each(go.sealed.map((s) => [JSON.parse(s.json).kdf.params.N, s.json, s.plaintext]))(
    "its ciphertext with scrypt N=%i decrypts to its plaintext",
    (_n, sealed, plaintext) => {
      const plain = decryptWithPassword(utf8(sealed), utf8(go.passphrase));
      expect(Buffer.from(plain).toString("utf8")).toBe(plaintext);
    },
  );

  test("scrypt parameters it does not accept are refused before any work", () => {
    expect(() => decryptWithPassword(utf8(go.unsupported_params), utf8(go.passphrase))).toThrow(
      "unsupported scrypt parameters N=99 r=99 p=99",
    );
  });

  test("what we seal has its JSON shape and field order, and opens only with the password", () => {
    const sealed = encryptWithPassword(utf8("reallyimportant"), utf8("pw"));
    const text = Buffer.from(sealed).toString("utf8");
    expect(text).toMatch(
      /^\{"kdf":\{"name":"scrypt","params":\{"N":32768,"r":8,"p":1\},"salt":"[A-Za-z0-9+/]{43}="\},"cipher":\{"name":"nacl\/secretbox","nonce":"[A-Za-z0-9+/]{32}"\},"ciphertext":"[A-Za-z0-9+/]+=*"\}$/,
    );
    // secretbox adds a 16-byte tag to the 15-byte plaintext
    expect(Buffer.from(JSON.parse(text).ciphertext, "base64").length).toBe(31);
    expect(Buffer.from(decryptWithPassword(sealed, utf8("pw"))).toString()).toBe("reallyimportant");
    expect(() => decryptWithPassword(sealed, utf8("wrong"))).toThrow(EncryptedKeyError);
  });

  test("a tampered ciphertext does not open", () => {
    const sealed = JSON.parse(Buffer.from(encryptWithPassword(utf8("secret"), utf8("pw"))).toString());
    const bytes = Buffer.from(sealed.ciphertext, "base64");
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    sealed.ciphertext = bytes.toString("base64");
    expect(() => decryptWithPassword(utf8(JSON.stringify(sealed)), utf8("pw"))).toThrow("decryption failed");
  });

  test("an unknown kdf or cipher name is refused by name", () => {
    const sealed = JSON.parse(go.sealed[0]?.json ?? "{}");
    expect(() =>
      decryptWithPassword(
        utf8(JSON.stringify({ ...sealed, kdf: { ...sealed.kdf, name: "pbkdf2" } })),
        utf8("x"),
      ),
    ).toThrow('unknown kdf name "pbkdf2"');
    expect(() =>
      decryptWithPassword(
        utf8(JSON.stringify({ ...sealed, cipher: { ...sealed.cipher, name: "aes" } })),
        utf8("x"),
      ),
    ).toThrow('unknown cipher name "aes"');
  });
});

describe("cosign's encrypted private key PEM", () => {
  test("a key file made by cosign generate-key-pair (ENCRYPTED COSIGN PRIVATE KEY) decrypts to its public key's pair", () => {
    const vector = keyVectors.cosign_generate_key_pair;
    const der = decryptPrivateKeyPem(vector.private_key_pem, vector.password);
    const privateKey = createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
    expect(createPublicKey(privateKey).export({ format: "pem", type: "spki" })).toBe(vector.public_key_pem);
  });

  test("a wrong password for cosign's own key file is an error", () => {
    const vector = keyVectors.cosign_generate_key_pair;
    expect(() => decryptPrivateKeyPem(vector.private_key_pem, "not it")).toThrow(EncryptedKeyError);
  });

  test("we write ENCRYPTED SIGSTORE PRIVATE KEY by default, and the older type on request; both read back", () => {
    const der = new Uint8Array([1, 2, 3]);
    const sigstore = encryptPrivateKeyPem(der, "");
    expect(decodePem(sigstore).type).toBe(SIGSTORE_PRIVATE_KEY_PEM_TYPE);
    expect(decryptPrivateKeyPem(sigstore, "")).toEqual(der);
    const legacy = encryptPrivateKeyPem(der, "p", COSIGN_PRIVATE_KEY_PEM_TYPE);
    expect(legacy.startsWith("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n")).toBe(true);
    expect(decryptPrivateKeyPem(legacy, "p")).toEqual(der);
  });

  test("other PEM types are refused as cosign refuses them", () => {
    expect(() =>
      decryptPrivateKeyPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", ""),
    ).toThrow("unsupported pem type: PRIVATE KEY");
  });
});
