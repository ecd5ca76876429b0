import { createPrivateKey, type KeyObject } from "node:crypto";
import { toBase64 } from "../encoding.js";
import {
  CertificateError,
  certificateIdentity,
  checkCertificateIdentity,
  verifiedCertificateKey,
  verifyCertificateChain,
} from "./certificate.js";
import { signPayload } from "./signature.js";
import {
  CERTIFICATE_ANNOTATION,
  CHAIN_ANNOTATION,
  SIGNATURE_ANNOTATION,
  signatureLayerDescriptor,
} from "./signature-manifest.js";
import { buildSimpleSigningPayload } from "./simple-signing.js";
import { certificateAuthority, fulcioLeaf, type Issued } from "./testdata/certificates.js";
import { verifySignatureLayer } from "./verify-image.js";

const ISSUER = "https://accounts.example.com";
const EMAIL = "dev@example.com";

let root: Awaited<ReturnType<typeof certificateAuthority>>;
let intermediate: Awaited<ReturnType<typeof certificateAuthority>>;
let leaf: Issued;

beforeAll(async () => {
  root = await certificateAuthority("CN=test root");
  intermediate = await certificateAuthority("CN=test intermediate", root);
  leaf = await fulcioLeaf(intermediate, { email: EMAIL, issuerV2: ISSUER, issuerV1: ISSUER });
});

async function privateKeyOf(issued: Issued): Promise<KeyObject> {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", issued.keys.privateKey);
  return createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
}

describe("signing certificates", () => {
  test("a leaf chains through the intermediate to the given root", () => {
    const path = verifyCertificateChain(leaf.cert, {
      roots: [root.cert],
      intermediates: [intermediate.cert],
    });
    expect(path.map((c) => c.fingerprint256)).toEqual(
      [leaf, intermediate, root].map((c) => c.cert.fingerprint256),
    );
  });

  test("without the intermediate, or against another root, the chain does not lead to a root", async () => {
    expect(() => verifyCertificateChain(leaf.cert, { roots: [root.cert] })).toThrow(
      "does not lead to a given root",
    );
    const other = await certificateAuthority("CN=other root");
    expect(() =>
      verifyCertificateChain(leaf.cert, { roots: [other.cert], intermediates: [intermediate.cert] }),
    ).toThrow(CertificateError);
  });

  test("a certificate that is not for code signing is refused", async () => {
    const plain = await fulcioLeaf(intermediate, { email: EMAIL, codeSigning: false });
    expect(() =>
      verifyCertificateChain(plain.cert, { roots: [root.cert], intermediates: [intermediate.cert] }),
    ).toThrow("not for code signing");
  });

  test("identity and OIDC issuer come from the SAN and Fulcio's extensions", async () => {
    expect(certificateIdentity(leaf.cert)).toEqual({ emails: [EMAIL], uris: [], oidcIssuer: ISSUER });
    const workflow = await fulcioLeaf(intermediate, {
      uri: "https://github.com/o/r/.github/workflows/release.yml@refs/heads/main",
      issuerV1: "https://token.actions.githubusercontent.com",
    });
    expect(certificateIdentity(workflow.cert)).toEqual({
      emails: [],
      uris: ["https://github.com/o/r/.github/workflows/release.yml@refs/heads/main"],
      oidcIssuer: "https://token.actions.githubusercontent.com",
    });
  });

  test("the newer DER extension wins over the older raw one", async () => {
    const both = await fulcioLeaf(intermediate, {
      email: EMAIL,
      issuerV1: "https://old",
      issuerV2: "https://new",
    });
    expect(certificateIdentity(both.cert).oidcIssuer).toBe("https://new");
  });

  test("another identity or issuer than the one asked for is refused, naming both", () => {
    expect(() => checkCertificateIdentity(leaf.cert, { identity: EMAIL, oidcIssuer: ISSUER })).not.toThrow();
    expect(() => checkCertificateIdentity(leaf.cert, { identity: "eve@example.com" })).toThrow(
      `wanted eve@example.com, got ${EMAIL}`,
    );
    expect(() => checkCertificateIdentity(leaf.cert, { oidcIssuer: "https://evil" })).toThrow(
      `OIDC issuer is ${ISSUER}, not https://evil`,
    );
  });

  test("regular expressions match anywhere in the identity and issuer, as Go's MatchString", () => {
    expect(() =>
      checkCertificateIdentity(leaf.cert, {
        identityRegexp: /@example\.com$/,
        oidcIssuerRegexp: /accounts\./,
      }),
    ).not.toThrow();
    expect(() => checkCertificateIdentity(leaf.cert, { identityRegexp: /@evil\.com$/ })).toThrow(
      `wanted /@evil\\.com$/, got ${EMAIL}`,
    );
    expect(() => checkCertificateIdentity(leaf.cert, { oidcIssuerRegexp: /^https:\/\/evil/ })).toThrow(
      "OIDC issuer is https://accounts.example.com, not /^https:\\/\\/evil/",
    );
  });

  test("a leaf whose key cosign cannot verify with is refused as a certificate problem", async () => {
    const k1 = await fulcioLeaf(intermediate, { email: EMAIL, curve: "P-521" });
    expect(() =>
      verifiedCertificateKey(k1.cert, { roots: [root.cert], intermediates: [intermediate.cert] }, {}),
    ).toThrow("the certificate's key cannot sign for cosign: unsupported ECDSA curve: secp521r1");
  });

  test("the verified key is the leaf's", () => {
    const key = verifiedCertificateKey(
      leaf.cert,
      { roots: [root.cert], intermediates: [intermediate.cert] },
      {},
    );
    expect(key.equals(leaf.cert.publicKey)).toBe(true);
  });
});

describe("keyless image signatures (certificate and chain annotations)", () => {
  const digest = `sha256:${"cd".repeat(32)}`;
  const payload = buildSimpleSigningPayload({
    dockerReference: "r/app",
    manifestDigest: digest,
    optional: null,
  });

  async function layer() {
    const signature = toBase64(signPayload(await privateKeyOf(leaf), payload));
    return {
      descriptor: signatureLayerDescriptor({
        payload,
        annotations: {
          [SIGNATURE_ANNOTATION]: signature,
          [CERTIFICATE_ANNOTATION]: leaf.pem,
          [CHAIN_ANNOTATION]: `${intermediate.pem}\n${root.pem}`,
        },
      }),
      content: payload,
    };
  }

  test("verifies with the root, the identity and the issuer while the certificate is valid", async () => {
    const verdict = verifySignatureLayer(await layer(), 0, {
      manifestDigest: digest,
      verifier: {
        kind: "certificate",
        trust: { roots: [root.cert] },
        policy: { identity: EMAIL, oidcIssuer: ISSUER },
      },
    });
    expect(verdict.ok).toBe(true);
  });

  test("a root carried in the chain annotation is not trusted by itself", async () => {
    const other = await certificateAuthority("CN=other root");
    const verdict = verifySignatureLayer(await layer(), 0, {
      manifestDigest: digest,
      verifier: { kind: "certificate", trust: { roots: [other.cert] }, policy: {} },
    });
    expect(!verdict.ok && verdict.code).toBe("certificate");
  });

  test("without a Rekor time, an expired certificate is refused", async () => {
    const verdict = verifySignatureLayer(await layer(), 0, {
      manifestDigest: digest,
      verifier: { kind: "certificate", trust: { roots: [root.cert] }, policy: {} },
      now: new Date(Date.now() + 60 * 60_000),
    });
    expect(!verdict.ok && verdict.reason).toContain("was not valid at");
  });

  test("another identity is refused", async () => {
    const verdict = verifySignatureLayer(await layer(), 0, {
      manifestDigest: digest,
      verifier: {
        kind: "certificate",
        trust: { roots: [root.cert] },
        policy: { identity: "eve@example.com" },
      },
    });
    expect(!verdict.ok && verdict.reason).toContain("none of the expected identities matched");
  });
});
