import { createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPrivateKey } from "../../core/cosign/keys.js";
import { signPayload } from "../../core/cosign/signature.js";
import { certificateAuthority, fulcioLeaf } from "../../core/cosign/testdata/certificates.js";
import { trustdock } from "../../test/support/cli.js";
import { cosignFixturePath, cosignFixtures } from "../../test/support/cosign-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "trustdock-verify-blob-"));
const file = (name: string, content: string | Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

describe("trustdock verify-blob with a key made by trustdock key generate", () => {
  const blob = Buffer.from("release tarball bytes\n");
  let pub: string;
  let signatureBase64: string;

  beforeAll(async () => {
    const prefix = join(dir, "signer");
    const generated = await trustdock(["key", "generate", "--output-key-prefix", prefix], {
      env: { COSIGN_PASSWORD: "pw" },
    });
    expect(generated.code).toBe(0);
    pub = `${prefix}.pub`;
    const key = loadPrivateKey(readFileSync(`${prefix}.key`, "utf8"), "pw");
    signatureBase64 = Buffer.from(signPayload(key, blob)).toString("base64");
  });

  test("a signature made with the library verifies: Verified OK on stderr, nothing on stdout, exit 0", async () => {
    const res = await trustdock([
      "verify-blob",
      "--key",
      pub,
      "--signature",
      file("blob.sig", signatureBase64),
      file("blob", blob),
    ]);
    expect(res).toEqual({ code: 0, stdout: "", stderr: "Verified OK\n" });
  });

  test("the signature may be the base64 text itself, or a file of raw bytes; the blob may come on stdin", async () => {
    expect(
      (await trustdock(["verify-blob", "--key", pub, "--signature", signatureBase64, file("blob", blob)]))
        .code,
    ).toBe(0);
    const raw = file("blob.sig.raw", Buffer.from(signatureBase64, "base64"));
    expect(
      (await trustdock(["verify-blob", "--key", pub, "--signature", raw, file("blob", blob)])).code,
    ).toBe(0);
    const piped = await trustdock(["verify-blob", "--key", pub, "--signature", signatureBase64, "-"], {
      input: blob.toString(),
    });
    expect(piped.stderr).toBe("Verified OK\n");
  });

  test("a changed blob fails with cosign's message and exit 1", async () => {
    const res = await trustdock([
      "verify-blob",
      "--key",
      pub,
      "--signature",
      signatureBase64,
      file("changed", "release tarball bytes!\n"),
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe("Error: invalid signature when validating ASN.1 encoded signature\n");
  });

  test("a truncated signature fails and says so", async () => {
    const truncated = Buffer.from(signatureBase64, "base64").subarray(0, 30).toString("base64");
    const res = await trustdock(["verify-blob", "--key", pub, "--signature", truncated, file("blob", blob)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^Error: invalid signature .*truncated: 30 of 7[0-2] bytes\n$/);
  });

  test("no key and no certificate is an error", async () => {
    const res = await trustdock(["verify-blob", "--signature", signatureBase64, file("blob", blob)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("Error: please provide a public key");
  });
});

describe("trustdock verify-blob on the real cosign signatures", () => {
  // Each fixture layer is a blob (the payload) and cosign's signature over it; verify-blob knows nothing of
  // images, so what decides is only whether the signature is over these very bytes with this key.
  const cases = cosignFixtures().flatMap((fixture) =>
    fixture.signatures.map((s, i) => ({
      name: `${fixture.name}[${i}]`,
      payload: s.payload,
      signature: s.annotations["dev.cosignproject.cosign/signature"] ?? "",
      key: fixture.verifyWith,
      signedThisPayload: s.mediaType === "application/vnd.dev.cosign.simplesigning.v1+json",
    })),
  );

  test.each(cases)("$name with its key", async ({ name, payload, signature, key, signedThisPayload }) => {
    const res = await trustdock([
      "verify-blob",
      "--key",
      cosignFixturePath(key),
      "--signature",
      file(`${name}.sig`, signature),
      file(`${name}.payload`, payload),
    ]);
    expect(res.code).toBe(signedThisPayload ? 0 : 1);
    expect(res.stderr).toBe(
      signedThisPayload
        ? "Verified OK\n"
        : "Error: invalid signature when validating ASN.1 encoded signature\n",
    );
  });

  test("cosign-valid's signature does not verify with the other key", async () => {
    const [valid] = cases.filter((c) => c.name === "cosign-valid[0]");
    if (!valid) throw new Error("fixture cosign-valid missing");
    const res = await trustdock([
      "verify-blob",
      "--key",
      cosignFixturePath("cosign2.pub"),
      "--signature",
      valid.signature,
      file("valid.payload", valid.payload),
    ]);
    expect(res.code).toBe(1);
  });
});

describe("trustdock verify-blob --bundle (what cosign sign-blob --bundle writes)", () => {
  const fixture = cosignFixtures().find((f) => f.name === "cosign-key-rekor-valid");
  const layer = fixture?.signatures[0];
  let paths: { bundle: string; payload: string };

  beforeAll(() => {
    if (!layer) throw new Error("fixture cosign-key-rekor-valid missing");
    paths = {
      bundle: file(
        "rekor.bundle",
        JSON.stringify({
          base64Signature: layer.annotations["dev.cosignproject.cosign/signature"],
          rekorBundle: JSON.parse(layer.annotations["dev.sigstore.cosign/bundle"] ?? "{}"),
        }),
      ),
      payload: file("rekor.payload", layer.payload),
    };
  });
  const args = () => [
    "verify-blob",
    "--key",
    cosignFixturePath("cosign2.pub"),
    "--bundle",
    paths.bundle,
    paths.payload,
  ];

  test("the real signature and its Rekor entry verify offline with the Rekor key from SIGSTORE_REKOR_PUBLIC_KEY", async () => {
    const res = await trustdock(args(), {
      env: { SIGSTORE_REKOR_PUBLIC_KEY: cosignFixturePath("rekor.pub") },
    });
    expect(res).toEqual({ code: 0, stdout: "", stderr: "Verified OK\n" });
  });

  test("another Rekor key refuses the entry", async () => {
    const res = await trustdock(args(), {
      env: { SIGSTORE_REKOR_PUBLIC_KEY: cosignFixturePath("cosign.pub") },
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("not one of the given Rekor keys");
  });

  test("with no Rekor key the entry is not taken on trust: refused, unless --insecure-ignore-tlog", async () => {
    const env = { SIGSTORE_REKOR_PUBLIC_KEY: undefined } as unknown as NodeJS.ProcessEnv;
    const refused = await trustdock(args(), { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("set SIGSTORE_REKOR_PUBLIC_KEY");
    expect((await trustdock([...args(), "--insecure-ignore-tlog"], { env })).stderr).toBe("Verified OK\n");
  });
});

describe("trustdock verify-blob with a certificate", () => {
  const blob = Buffer.from("keyless blob\n");
  let paths: { cert: string; chain: string; sig: string; blob: string; otherChain: string };

  beforeAll(async () => {
    const root = await certificateAuthority("CN=blob root");
    const intermediate = await certificateAuthority("CN=blob intermediate", root);
    const other = await certificateAuthority("CN=other root");
    const leaf = await fulcioLeaf(intermediate, {
      email: "dev@example.com",
      issuerV2: "https://issuer.example",
    });
    const pkcs8 = await crypto.subtle.exportKey("pkcs8", leaf.keys.privateKey);
    const key = createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
    paths = {
      cert: file("leaf.pem", leaf.pem),
      chain: file("chain.pem", `${intermediate.pem}\n${root.pem}\n`),
      otherChain: file("other-chain.pem", `${intermediate.pem}\n${other.pem}\n`),
      sig: file("keyless.sig", Buffer.from(signPayload(key, blob)).toString("base64")),
      blob: file("keyless.blob", blob),
    };
  });

  const args = (over: Record<string, string> = {}) => {
    const flags: Record<string, string> = {
      "--certificate": paths.cert,
      "--certificate-chain": paths.chain,
      "--certificate-identity": "dev@example.com",
      "--certificate-oidc-issuer": "https://issuer.example",
      "--signature": paths.sig,
      ...over,
    };
    return ["verify-blob", ...Object.entries(flags).flat(), paths.blob];
  };

  test("verifies with the chain's root, the identity and the issuer", async () => {
    expect(await trustdock(args())).toEqual({ code: 0, stdout: "", stderr: "Verified OK\n" });
  });

  test("regular expressions may stand for the identity and the issuer; one of each is required", async () => {
    const flags = args({
      "--certificate-identity-regexp": "@example\\.com$",
      "--certificate-oidc-issuer-regexp": "^https://issuer\\.",
    });
    const withoutExact = flags.filter(
      (a, i) =>
        !["--certificate-identity", "--certificate-oidc-issuer"].includes(a) &&
        !["--certificate-identity", "--certificate-oidc-issuer"].includes(flags[i - 1] ?? ""),
    );
    expect((await trustdock(withoutExact)).stderr).toBe("Verified OK\n");
    const noIssuer = withoutExact.filter(
      (a, i) =>
        a !== "--certificate-oidc-issuer-regexp" &&
        withoutExact[i - 1] !== "--certificate-oidc-issuer-regexp",
    );
    const refused = await trustdock(noIssuer);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "--certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required",
    );
  });

  test("the certificate and signature may come from a bundle instead", async () => {
    const bundle = file(
      "keyless.bundle",
      JSON.stringify({
        base64Signature: readFileSync(paths.sig, "utf8"),
        cert: Buffer.from(readFileSync(paths.cert)).toString("base64"),
      }),
    );
    const flags = args();
    const withoutFiles = flags.filter(
      (a, i) =>
        !["--certificate", "--signature"].includes(a) &&
        !["--certificate", "--signature"].includes(flags[i - 1] ?? ""),
    );
    const res = await trustdock([...withoutFiles.slice(0, -1), "--bundle", bundle, paths.blob]);
    expect(res).toEqual({ code: 0, stdout: "", stderr: "Verified OK\n" });
  });

  test("another identity, another issuer or another root is refused", async () => {
    const identity = await trustdock(args({ "--certificate-identity": "eve@example.com" }));
    expect(identity.code).toBe(1);
    expect(identity.stderr).toContain("none of the expected identities matched");
    const issuer = await trustdock(args({ "--certificate-oidc-issuer": "https://evil.example" }));
    expect(issuer.stderr).toContain("OIDC issuer is https://issuer.example, not https://evil.example");
    const root = await trustdock(args({ "--certificate-chain": paths.otherChain }));
    expect(root.code).toBe(1);
    expect(root.stderr).toContain("does not lead to a given root");
  });
});
