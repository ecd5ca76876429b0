import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadPrivateKey, parsePublicKeyPem } from "../core/cosign/keys.js";
import { repoRoot } from "./support/shared.js";

describe("keys.example", () => {
  it("holds a cosign key pair whose private key opens with the password its README gives", () => {
    const dir = join(repoRoot, "keys.example");
    const privateKey = loadPrivateKey(readFileSync(join(dir, "cosign.key"), "utf8"), "example");
    const publicKey = parsePublicKeyPem(readFileSync(join(dir, "cosign.pub"), "utf8"));
    expect(createPublicKey(privateKey).equals(publicKey)).toBe(true);
    expect(readFileSync(join(dir, "README.md"), "utf8")).toContain("password `example`");
  });
});
