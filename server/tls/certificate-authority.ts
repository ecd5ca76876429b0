import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import forge from "node-forge";

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
  const { keyPem, publicKey, privateKey } = newRsaKey();
  const cert = newCertificate(publicKey, commonName, CA_DAYS);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

export function issueCertificate(ca: PemPair, request: CertificateRequest): PemPair {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const { keyPem, publicKey } = newRsaKey();
  const cert = newCertificate(publicKey, request.commonName, request.days);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [
    ...(request.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(request.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    {
      name: "extKeyUsage",
      serverAuth: request.usage !== "client",
      clientAuth: request.usage !== "server",
    },
    ...(altNames.length > 0 ? [{ name: "subjectAltName", altNames }] : []),
    { name: "subjectKeyIdentifier" },
    // forge's `keyIdentifier: true` would take the new certificate's own key, so name the CA's explicitly.
    { name: "authorityKeyIdentifier", keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
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
 * still good: a leaf is (re)issued only when missing, not from this CA, not matching its key, near expiry,
 * or (the server's) not covering one of `hosts`. A new CA reissues every leaf.
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

function newRsaKey(): {
  keyPem: string;
  publicKey: forge.pki.PublicKey;
  privateKey: forge.pki.rsa.PrivateKey;
} {
  // node generates RSA keys far faster than forge's JavaScript; forge only needs them to sign certificates.
  const pair = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return {
    keyPem: pair.privateKey,
    publicKey: forge.pki.publicKeyFromPem(pair.publicKey),
    privateKey: forge.pki.privateKeyFromPem(pair.privateKey),
  };
}

function newCertificate(
  publicKey: forge.pki.PublicKey,
  commonName: string,
  days: number,
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + days * 24 * 60 * 60 * 1000);
  cert.setSubject([{ name: "commonName", value: commonName }]);
  return cert;
}

// A positive DER integer without a leading zero byte: top bit clear, next bit set.
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString("hex");
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
