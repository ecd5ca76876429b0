// @peculiar/x509 pulls in tsyringe, which needs the Reflect metadata API in place before it loads.
import "reflect-metadata";
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  type AlgorithmIdentifier,
  Certificate,
  Extension,
  Extensions,
  Name,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from "@peculiar/asn1-x509";
import * as x509 from "@peculiar/x509";

/** A certificate and its private key, both PEM. */
export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export type CertificateUsage = "server" | "client" | "both";

export interface CertificateRequest {
  readonly commonName: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly usage: CertificateUsage;
  readonly days: number;
}

const CA_DAYS = 3650;
// Long enough that nobody renews by hand, short enough that `ensureTlsMaterial` renews before expiry.
const LEAF_DAYS = 825;
const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;
// Tolerates clocks a little behind the one that issued the certificate.
const BACKDATE_MS = 5 * 60 * 1000;

export function createCertificateAuthority(commonName: string): PemPair {
  const { publicKey, privateKey } = newEcKey();
  const subject = nameOf(commonName);
  const certPem = signCertificate({
    subject,
    issuer: subject,
    publicKey,
    issuerKey: privateKey,
    days: CA_DAYS,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      new x509.SubjectKeyIdentifierExtension(keyIdentifier(publicKey)),
    ],
  });
  return { certPem, keyPem: pkcs8Pem(privateKey) };
}

/**
 * A certificate for a key that signs something other than TLS, e.g. the token signing key, for verifiers
 * that take keys only as certificates (distribution's and notary-server's `rootcertbundle`).
 */
export function selfSignedCertificate(commonName: string, privateKey: KeyObject, days: number): string {
  const publicKey = createPublicKey(privateKey);
  const subject = nameOf(commonName);
  return signCertificate({
    subject,
    issuer: subject,
    publicKey,
    issuerKey: privateKey,
    days,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectKeyIdentifierExtension(keyIdentifier(publicKey)),
    ],
  });
}

export function issueCertificate(ca: PemPair, request: CertificateRequest): PemPair {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caSki = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  const { publicKey, privateKey } = newEcKey();
  const altNames: x509.JsonGeneralNames = [
    ...(request.dnsNames ?? []).map((value): x509.JsonGeneralName => ({ type: x509.DNS, value })),
    ...(request.ipAddresses ?? []).map((value): x509.JsonGeneralName => ({ type: x509.IP, value })),
  ];
  const certPem = signCertificate({
    subject: nameOf(request.commonName),
    // The CA's own encoding of its name, byte for byte, so chain building matches it whoever made the CA.
    issuer: AsnConvert.parse(caCert.rawData, Certificate).tbsCertificate.subject,
    publicKey,
    issuerKey: createPrivateKey(ca.keyPem),
    days: request.days,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      // No keyEncipherment: an ECDSA key only signs (RFC 5480), TLS 1.2 and 1.3 agree keys by ECDHE.
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        ...(request.usage !== "client" ? [x509.ExtendedKeyUsage.serverAuth] : []),
        ...(request.usage !== "server" ? [x509.ExtendedKeyUsage.clientAuth] : []),
      ]),
      ...(altNames.length > 0 ? [new x509.SubjectAlternativeNameExtension(altNames)] : []),
      new x509.SubjectKeyIdentifierExtension(keyIdentifier(publicKey)),
      // A CA without the extension (not one of ours) gets the identifier it would have had.
      new x509.AuthorityKeyIdentifierExtension(caSki?.keyId ?? keyIdentifier(createPublicKey(ca.certPem))),
    ],
  });
  return { certPem, keyPem: pkcs8Pem(privateKey) };
}

/** Where `ensureTlsMaterial` keeps each file. */
export interface TlsMaterialPaths {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly signerCert: string;
  readonly signerKey: string;
  readonly signerClientCert: string;
  readonly signerClientKey: string;
}

const LOOPBACK_NAMES = ["localhost"];
const LOOPBACK_IPS = ["127.0.0.1", "::1"];

/**
 * Makes the CA and the three leaf certificates Trustdock runs with, keeping whatever is already there and
 * still good: a leaf is (re)issued only when missing, not from this CA, not matching its key, not an EC key,
 * near expiry, or (the server's) not covering one of `hosts`. A new CA reissues every leaf; an existing CA is
 * kept whatever its key type, so an RSA CA from an older Trustdock goes on signing (EC) leaves.
 */
export function ensureTlsMaterial(dir: string, opts: { hosts: readonly string[] }): TlsMaterialPaths {
  const paths = tlsMaterialPaths(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  let ca = readPair(paths.caCert, paths.caKey);
  const freshCa = ca === undefined;
  if (ca === undefined) {
    ca = createCertificateAuthority("Trustdock CA");
    writePair(paths.caCert, paths.caKey, ca);
  }
  const caPublicKey = new X509Certificate(ca.certPem).publicKey;
  const usable = (pair: PemPair | undefined): pair is PemPair =>
    !freshCa && pair !== undefined && isUsableLeaf(pair, caPublicKey);

  const server = readPair(paths.serverCert, paths.serverKey);
  if (!usable(server) || !coversHosts(server.certPem, opts.hosts)) {
    // Names the old certificate covered stay covered, so asking for a new host never drops an old one.
    const previous = server === undefined ? [] : subjectAltNames(server.certPem);
    const names = unique([...LOOPBACK_NAMES, ...LOOPBACK_IPS, ...opts.hosts, ...previous].map(normalizeHost));
    const issued = issueCertificate(ca, {
      commonName: opts.hosts[0] ?? "localhost",
      dnsNames: names.filter((n) => isIP(n) === 0),
      ipAddresses: names.filter((n) => isIP(n) !== 0),
      usage: "server",
      days: LEAF_DAYS,
    });
    writePair(paths.serverCert, paths.serverKey, issued);
  }

  if (!usable(readPair(paths.signerCert, paths.signerKey))) {
    const issued = issueCertificate(ca, {
      commonName: "trustdock-signer",
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1"],
      usage: "server",
      days: LEAF_DAYS,
    });
    writePair(paths.signerCert, paths.signerKey, issued);
  }

  if (!usable(readPair(paths.signerClientCert, paths.signerClientKey))) {
    const issued = issueCertificate(ca, { commonName: "trustdock-server", usage: "client", days: LEAF_DAYS });
    writePair(paths.signerClientCert, paths.signerClientKey, issued);
  }
  return paths;
}

export function tlsMaterialPaths(dir: string): TlsMaterialPaths {
  return {
    dir,
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    serverCert: join(dir, "server.crt"),
    serverKey: join(dir, "server.key"),
    signerCert: join(dir, "signer.crt"),
    signerKey: join(dir, "signer.key"),
    signerClientCert: join(dir, "signer-client.crt"),
    signerClientKey: join(dir, "signer-client.key"),
  };
}

function newEcKey(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync("ec", { namedCurve: "P-256" });
}

function pkcs8Pem(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }).toString();
}

function nameOf(commonName: string): Name {
  return AsnConvert.parse(new x509.Name([{ CN: [commonName] }]).toArrayBuffer(), Name);
}

// RFC 5280's method 1: the SHA-1 of the subjectPublicKey bits, as forge and OpenSSL compute it.
function keyIdentifier(publicKey: KeyObject): string {
  const spki = AsnConvert.parse(publicKey.export({ type: "spki", format: "der" }), SubjectPublicKeyInfo);
  return createHash("sha1").update(new Uint8Array(spki.subjectPublicKey)).digest("hex");
}

// SHA-256 with whatever the CA's key is: ECDSA for ours, RSA for a CA made before Trustdock switched to EC.
function signatureAlgorithm(issuerKey: KeyObject): AlgorithmIdentifier {
  const type = issuerKey.asymmetricKeyType;
  const algorithm =
    type === "ec"
      ? new x509.EcAlgorithm().toAsnAlgorithm({ name: "ECDSA", hash: "SHA-256" })
      : type === "rsa"
        ? new x509.RsaAlgorithm().toAsnAlgorithm({ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" })
        : null;
  if (algorithm === null) throw new Error(`cannot sign certificates with a ${type ?? "unknown"} CA key`);
  return algorithm;
}

/**
 * Builds and signs the certificate synchronously, as x509.X509CertificateGenerator would asynchronously:
 * WebCrypto only signs in promises, and `ensureTlsMaterial` runs before the server starts, from sync code.
 */
function signCertificate(params: {
  subject: Name;
  issuer: Name;
  publicKey: KeyObject;
  issuerKey: KeyObject;
  days: number;
  extensions: readonly x509.Extension[];
}): string {
  const algorithm = signatureAlgorithm(params.issuerKey);
  const now = Date.now();
  const tbsCertificate = new TBSCertificate({
    version: Version.v3,
    serialNumber: randomSerial(),
    signature: algorithm,
    issuer: params.issuer,
    validity: new Validity({
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + params.days * 24 * 60 * 60 * 1000),
    }),
    subject: params.subject,
    subjectPublicKeyInfo: AsnConvert.parse(
      params.publicKey.export({ type: "spki", format: "der" }),
      SubjectPublicKeyInfo,
    ),
    extensions: new Extensions(params.extensions.map((e) => AsnConvert.parse(e.rawData, Extension))),
  });
  // node signs ECDSA as a DER Ecdsa-Sig-Value and RSA as PKCS#1 v1.5: both what X.509 carries as is.
  const signatureValue = sign(
    "sha256",
    new Uint8Array(AsnConvert.serialize(tbsCertificate)),
    params.issuerKey,
  );
  const der = AsnConvert.serialize(
    new Certificate({
      tbsCertificate,
      signatureAlgorithm: algorithm,
      signatureValue: toArrayBuffer(signatureValue),
    }),
  );
  return new x509.X509Certificate(der).toString("pem");
}

// A Buffer may be a window on node's shared pool: the copy holds exactly its bytes.
function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

// A positive DER integer without a leading zero byte: top bit clear, next bit set.
function randomSerial(): ArrayBuffer {
  const bytes = new Uint8Array(randomBytes(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.buffer;
}

function readPair(certPath: string, keyPath: string): PemPair | undefined {
  if (!existsSync(certPath) || !existsSync(keyPath)) return undefined;
  return { certPem: readFileSync(certPath, "utf8"), keyPem: readFileSync(keyPath, "utf8") };
}

// The key goes first and each file is renamed into place, so a crash leaves old or new files, never half of one.
function writePair(certPath: string, keyPath: string, pair: PemPair): void {
  writeAtomically(keyPath, pair.keyPem, 0o600);
  writeAtomically(certPath, pair.certPem, 0o644);
}

function writeAtomically(path: string, content: string, mode: number): void {
  const temp = `${path}.tmp`;
  writeFileSync(temp, content, { mode });
  // `mode` applies only when the file is created; a leftover temp file keeps its old mode otherwise.
  chmodSync(temp, mode);
  renameSync(temp, path);
}

function isUsableLeaf(pair: PemPair, caPublicKey: X509Certificate["publicKey"]): boolean {
  try {
    const cert = new X509Certificate(pair.certPem);
    return (
      cert.verify(caPublicKey) &&
      cert.checkPrivateKey(createPrivateKey(pair.keyPem)) &&
      // RSA leaves from an older Trustdock cost clients a slower handshake on every connection.
      cert.publicKey.asymmetricKeyType === "ec" &&
      new Date(cert.validTo).getTime() - Date.now() > RENEW_BEFORE_MS
    );
  } catch {
    // Unparseable files are as good as missing: reissue them.
    return false;
  }
}

function coversHosts(certPem: string, hosts: readonly string[]): boolean {
  const cert = new X509Certificate(certPem);
  return [...LOOPBACK_NAMES, ...LOOPBACK_IPS, ...hosts].every((host) =>
    isIP(host) === 0 ? cert.checkHost(host) !== undefined : cert.checkIP(host) !== undefined,
  );
}

// node prints them as "DNS:localhost, IP Address:127.0.0.1"; our certificates hold no other kinds.
function subjectAltNames(certPem: string): string[] {
  const text = new X509Certificate(certPem).subjectAltName ?? "";
  return text
    .split(", ")
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ""))
    .filter((name) => name.length > 0);
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

// node prints ::1 as 0:0:0:0:0:0:0:1 and DNS names are case-insensitive; one spelling each avoids duplicates.
function normalizeHost(host: string): string {
  if (isIP(host) === 6) return new URL(`http://[${host}]`).hostname.slice(1, -1);
  return host.toLowerCase();
}
