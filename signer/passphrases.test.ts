import { SignerError } from "./errors.js";
import { passphrasesFromEnv, passphraseVariable } from "./passphrases.js";

describe("passphrasesFromEnv", () => {
  it("reads each alias's passphrase from its upper-cased variable", () => {
    const passphrases = passphrasesFromEnv({ TRUSTDOCK_SIGNER_PASSPHRASE_SPRING_2025: "s3cret" });
    expect(passphrases.passphraseFor("spring_2025")).toBe("s3cret");
    expect(passphraseVariable("spring_2025")).toBe("TRUSTDOCK_SIGNER_PASSPHRASE_SPRING_2025");
  });

  it("encrypts new keys under the alias `default` unless told otherwise", () => {
    expect(passphrasesFromEnv({}).defaultAlias).toBe("default");
    expect(passphrasesFromEnv({ TRUSTDOCK_SIGNER_DEFAULT_ALIAS: "Rotated" }).defaultAlias).toBe("rotated");
  });

  it("names the variable to set when a passphrase is missing or empty", () => {
    const passphrases = passphrasesFromEnv({ TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT: "" });
    expect(() => passphrases.passphraseFor("default")).toThrow(
      expect.objectContaining({
        code: "PASSPHRASE_MISSING",
        message: expect.stringContaining("set TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT"),
      }),
    );
  });

  it("refuses aliases that cannot name an environment variable", () => {
    expect(() => passphrasesFromEnv({ TRUSTDOCK_SIGNER_DEFAULT_ALIAS: "my-alias" })).toThrow(SignerError);
  });
});
