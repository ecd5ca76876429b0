import { randomBytes } from "node:crypto";
import { PassphraseSealer } from "./encryption.js";
import { passphrasesFromEnv } from "./passphrases.js";

const keyId = "a".repeat(64);
const plaintext = randomBytes(138);

function sealerWith(passphrase: string): PassphraseSealer {
  return new PassphraseSealer(passphrasesFromEnv({ TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT: passphrase }));
}

describe("PassphraseSealer", () => {
  it("decrypts what it encrypted, in a fresh process too", async () => {
    const blob = await sealerWith("correct horse").seal(plaintext, "default", keyId);
    expect(await sealerWith("correct horse").unseal(blob, "default", keyId)).toEqual(plaintext);
  });

  it("writes version, salt, nonce and tag before the ciphertext", async () => {
    const blob = await sealerWith("correct horse").seal(plaintext, "default", keyId);
    expect(blob[0]).toBe(1);
    expect(blob).toHaveLength(1 + 16 + 12 + 16 + plaintext.length);
    expect(blob.includes(plaintext)).toBe(false);
  });

  it("refuses a wrong passphrase, naming the variable that holds it", async () => {
    const blob = await sealerWith("correct horse").seal(plaintext, "default", keyId);
    await expect(sealerWith("battery staple").unseal(blob, "default", keyId)).rejects.toMatchObject({
      code: "DECRYPTION_FAILED",
      message: expect.stringContaining("TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT"),
    });
  });

  it("refuses a blob that was altered or moved to another key", async () => {
    const sealer = sealerWith("correct horse");
    const blob = await sealer.seal(plaintext, "default", keyId);
    const altered = Buffer.from(blob);
    altered[altered.length - 1] = (altered[altered.length - 1] ?? 0) ^ 1;
    await expect(sealer.unseal(altered, "default", keyId)).rejects.toMatchObject({
      code: "DECRYPTION_FAILED",
    });
    await expect(sealer.unseal(blob, "default", "b".repeat(64))).rejects.toMatchObject({
      code: "DECRYPTION_FAILED",
    });
  });

  it("refuses a blob of an unknown format", async () => {
    const blob = await sealerWith("correct horse").seal(plaintext, "default", keyId);
    const future = Buffer.from(blob);
    future[0] = 2;
    await expect(sealerWith("correct horse").unseal(future, "default", keyId)).rejects.toMatchObject({
      code: "DECRYPTION_FAILED",
      message: expect.stringContaining("unknown format"),
    });
  });
});
