import { trustdock } from "../../test/support/cli.js";

// Signing against a registry is proven in test/interop/cosign-cli*.test.ts; these are refusals made
// before any registry is asked (the address below has nothing listening).
describe("trustdock sign refuses what it cannot do", () => {
  const image = "127.0.0.1:1/library/app:v1";

  test("-a needs key=value, as cosign's flag", async () => {
    const res = await trustdock(["sign", "--key", "cosign.key", "-a", "novalue", image]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("unable to parse annotation: novalue");
  });

  test("-a with --new-bundle-format: a bundle's statement has no place for annotations", async () => {
    const res = await trustdock(["sign", "--new-bundle-format", "--key", "cosign.key", "-a", "k=v", image]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `Error: signing [${image}]: -a annotations cannot be signed into a Sigstore bundle's statement\n`,
    );
  });

  test("a transparency log upload is never made, so asking for one is refused", async () => {
    const res = await trustdock(["sign", "--tlog-upload=true", "--key", "cosign.key", image]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `Error: signing [${image}]: uploading to a transparency log is not supported: pass --tlog-upload=false\n`,
    );
  });

  test("--key is required", async () => {
    const res = await trustdock(["sign", image]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("required option '--key <file>' not specified");
  });
});
