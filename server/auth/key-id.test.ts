import { createPublicKey } from "node:crypto";
import { base32, libtrustKeyId } from "./key-id.js";

describe("base32", () => {
  it("encodes RFC 4648's test vectors, without padding", () => {
    const vectors: Array<[string, string]> = [
      ["", ""],
      ["f", "MY"],
      ["fo", "MZXQ"],
      ["foo", "MZXW6"],
      ["foob", "MZXW6YQ"],
      ["fooba", "MZXW6YTB"],
      ["foobar", "MZXW6YTBOI"],
    ];
    for (const [input, expected] of vectors) expect(base32(Buffer.from(input))).toBe(expected);
  });
});

describe("libtrustKeyId", () => {
  it("is twelve groups of four base32 digits of the key's SPKI hash, as libtrust prints it", () => {
    // A P-256 public key and the ID its DER SPKI's SHA-256 gives, cut to 30 bytes and base32'd: computed independently of this module with openssl, sha256sum and coreutils' base32.
    const key = createPublicKey(
      "-----BEGIN PUBLIC KEY-----\n" +
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEdB+LTIlMUD80MMnuRHTSNUU3psAo\n" +
        "NSAw1qSXB0l99sKUuTOb9/mwxNwMDJN2FfwXXy0+C+o6y+smvNHpEAtmlA==\n" +
        "-----END PUBLIC KEY-----\n",
    );
    expect(libtrustKeyId(key)).toBe("OYUW:ETTR:JPIU:OVGR:JGRJ:SJUW:SOWJ:45FQ:2UO4:ODKO:F7AS:ACZ4");
  });
});
