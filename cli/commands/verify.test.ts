import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trustdock } from "../../test/support/cli.js";

// Verifying against a registry is proven in test/interop/cosign-cli*.test.ts; these are refusals made
// before any registry is asked (the address below has nothing listening).
describe("trustdock verify refuses to run without something to verify with", () => {
  const image = "127.0.0.1:1/library/app:v1";

  test("keyless verification needs an identity and an issuer, as cosign's", async () => {
    const noIdentity = await trustdock(["verify", image]);
    expect(noIdentity.code).toBe(1);
    expect(noIdentity.stderr).toBe(
      "Error: --certificate-identity or --certificate-identity-regexp is required for verification in keyless mode\n",
    );
    const noIssuer = await trustdock(["verify", "--certificate-identity", "a@example.com", image]);
    expect(noIssuer.stderr).toBe(
      "Error: --certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required for verification in keyless mode\n",
    );
  });

  test("Fulcio's roots are never fetched: a root must be given", async () => {
    const res = await trustdock([
      "verify",
      "--certificate-identity",
      "a@example.com",
      "--certificate-oidc-issuer",
      "https://issuer.example",
      image,
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      "no root to verify certificates with: pass --certificate-chain or --ca-roots",
    );
  });

  test("a file that is not a public key is refused before the registry is asked", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "trustdock-verify-")), "cosign.pub");
    writeFileSync(file, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    const res = await trustdock(["verify", "--key", file, image]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe("Error: unsupported public key PEM type: CERTIFICATE\n");
  });
});
