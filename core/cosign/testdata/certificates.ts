// @peculiar/x509 pulls in tsyringe, which needs the Reflect metadata API in place before it loads.
import "reflect-metadata";
import { webcrypto, X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const MINUTE = 60_000;

export interface Issued {
  cert: X509Certificate;
  pem: string;
  keys: webcrypto.CryptoKeyPair;
}

export async function newKeys(curve: "P-256" | "P-521" = "P-256"): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey({ ...EC, namedCurve: curve }, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
}

async function issue(
  subject: string,
  keys: webcrypto.CryptoKeyPair,
  issuer: { name: string; keys: webcrypto.CryptoKeyPair } | undefined,
  notBefore: Date,
  minutes: number,
  extensions: x509.Extension[],
): Promise<Issued> {
  const made = await x509.X509CertificateGenerator.create({
    serialNumber: Math.floor(Math.random() * 1e9).toString(16),
    subject,
    issuer: issuer?.name ?? subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + minutes * MINUTE),
    signingAlgorithm: EC,
    publicKey: keys.publicKey,
    signingKey: (issuer?.keys ?? keys).privateKey,
    extensions,
  });
  return { cert: new X509Certificate(Buffer.from(made.rawData)), pem: made.toString("pem"), keys };
}

export async function certificateAuthority(name: string, issuer?: Issued & { name: string }) {
  const keys = await newKeys();
  const issued = await issue(
    name,
    keys,
    issuer && { name: issuer.name, keys: issuer.keys },
    new Date(Date.now() - 60 * MINUTE),
    60 * 24 * 365,
    [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  );
  return { ...issued, name };
}

/** A short-lived signing certificate as Fulcio issues one: code signing, a SAN identity, the issuer extensions. */
export async function fulcioLeaf(
  ca: Issued & { name: string },
  options: {
    email?: string;
    uri?: string;
    issuerV1?: string;
    issuerV2?: string;
    codeSigning?: boolean;
    notBefore?: Date;
    curve?: "P-256" | "P-521";
  },
): Promise<Issued> {
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
  ];
  if (options.codeSigning !== false)
    extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]));
  const names: x509.JsonGeneralName[] = [];
  if (options.email) names.push({ type: "email", value: options.email });
  if (options.uri) names.push({ type: "url", value: options.uri });
  if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names, true));
  if (options.issuerV1)
    extensions.push(new x509.Extension("1.3.6.1.4.1.57264.1.1", false, Buffer.from(options.issuerV1)));
  if (options.issuerV2) {
    const text = Buffer.from(options.issuerV2);
    extensions.push(
      new x509.Extension(
        "1.3.6.1.4.1.57264.1.8",
        false,
        Buffer.concat([Buffer.from([0x0c, text.length]), text]),
      ),
    );
  }
  return issue(
    "",
    await newKeys(options.curve),
    ca,
    options.notBefore ?? new Date(Date.now() - MINUTE),
    10,
    extensions,
  );
}
