// @peculiar/x509 (for the RSA CA an older Trustdock made) needs the Reflect metadata API before it loads.
import "reflect-metadata";
import { createPrivateKey, webcrypto, X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import {
  createCertificateAuthority,
  ensureTlsMaterial,
  issueCertificate,
  type TlsMaterialPaths,
  tlsMaterialPaths,
} from "./certificate-authority.js";

describe("createCertificateAuthority and issueCertificate", () => {
  const ca = createCertificateAuthority("Test CA");

  it("makes a CA certificate that may sign certificates", () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe("CN=Test CA");
    expect(cert.verify(cert.publicKey)).toBe(true);
    const years = (new Date(cert.validTo).getTime() - Date.now()) / (365 * 24 * 60 * 60 * 1000);
    expect(years).toBeGreaterThan(9.9);
  });

  it("issues a certificate signed by the CA for the names and addresses asked for", () => {
    const leaf = issueCertificate(ca, {
      commonName: "registry.example",
      dnsNames: ["registry.example"],
      ipAddresses: ["10.1.2.3", "::1"],
      usage: "server",
      days: 30,
    });
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.checkHost("registry.example")).toBe("registry.example");
    expect(cert.checkHost("other.example")).toBeUndefined();
    expect(cert.checkIP("10.1.2.3")).toBe("10.1.2.3");
    expect(cert.checkIP("::1")).toBeDefined();
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
  });

  it("marks client and dual-use certificates for client authentication", () => {
    const client = new X509Certificate(
      issueCertificate(ca, { commonName: "c", usage: "client", days: 1 }).certPem,
    );
    const both = new X509Certificate(
      issueCertificate(ca, { commonName: "b", usage: "both", days: 1 }).certPem,
    );
    expect(client.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect([...(both.keyUsage ?? [])].sort()).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
  });
});

describe("ensureTlsMaterial", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "trustdock-tls-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes a server certificate that verifies against the CA for the hosts and loopback", () => {
    const paths = ensureTlsMaterial(dir, { hosts: ["trust.example", "192.0.2.7"] });
    const ca = new X509Certificate(readFileSync(paths.caCert));
    const server = new X509Certificate(readFileSync(paths.serverCert));
    expect(server.verify(ca.publicKey)).toBe(true);
    for (const host of ["trust.example", "localhost"]) expect(server.checkHost(host)).toBe(host);
    for (const ip of ["192.0.2.7", "127.0.0.1"]) expect(server.checkIP(ip)).toBe(ip);
    expect(server.checkIP("::1")).toBeDefined();
    const signer = new X509Certificate(readFileSync(paths.signerCert));
    expect(signer.verify(ca.publicKey)).toBe(true);
    expect(signer.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(new X509Certificate(readFileSync(paths.signerClientCert)).verify(ca.publicKey)).toBe(true);
  });

  it("makes EC P-256 keys, as PKCS#8, for the CA and every leaf", () => {
    const paths = ensureTlsMaterial(dir, { hosts: [] });
    for (const [cert, key] of [
      [paths.caCert, paths.caKey],
      [paths.serverCert, paths.serverKey],
      [paths.signerCert, paths.signerKey],
      [paths.signerClientCert, paths.signerClientKey],
    ] as const) {
      const publicKey = new X509Certificate(readFileSync(cert)).publicKey;
      expect(publicKey.asymmetricKeyType).toBe("ec");
      expect(publicKey.asymmetricKeyDetails).toEqual({ namedCurve: "prime256v1" });
      const keyPem = readFileSync(key, "utf8");
      expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(createPrivateKey(keyPem).asymmetricKeyType).toBe("ec");
    }
  });

  it("keeps an RSA CA from an older Trustdock and replaces its RSA leaves with EC ones it signs", async () => {
    const rsa = {
      name: "RSASSA-PKCS1-v1_5",
      hash: "SHA-256",
      publicExponent: new Uint8Array([1, 0, 1]),
      modulusLength: 2048,
    };
    const caKeys = await webcrypto.subtle.generateKey(rsa, true, ["sign", "verify"]);
    const caCert = await x509.X509CertificateGenerator.createSelfSigned(
      {
        name: "CN=Trustdock CA",
        keys: caKeys,
        signingAlgorithm: rsa,
        notAfter: new Date(Date.now() + 365 * 24 * 60 * 60 * 1000),
        extensions: [
          new x509.BasicConstraintsExtension(true, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
          await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, webcrypto),
        ],
      },
      webcrypto,
    );
    const leafKeys = await webcrypto.subtle.generateKey(rsa, true, ["sign", "verify"]);
    const leafCert = await x509.X509CertificateGenerator.create(
      {
        subject: "CN=localhost",
        issuer: caCert.subject,
        publicKey: leafKeys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: rsa,
        notAfter: new Date(Date.now() + 365 * 24 * 60 * 60 * 1000),
        extensions: [
          new x509.SubjectAlternativeNameExtension([
            { type: "dns", value: "localhost" },
            { type: "ip", value: "127.0.0.1" },
            { type: "ip", value: "::1" },
          ]),
        ],
      },
      webcrypto,
    );
    const pkcs8 = async (key: webcrypto.CryptoKey) =>
      x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
    const paths = tlsMaterialPaths(dir);
    mkdirSync(dir, { recursive: true });
    writeFileSync(paths.caCert, caCert.toString("pem"));
    writeFileSync(paths.caKey, await pkcs8(caKeys.privateKey));
    writeFileSync(paths.serverCert, leafCert.toString("pem"));
    writeFileSync(paths.serverKey, await pkcs8(leafKeys.privateKey));
    const ca = new X509Certificate(readFileSync(paths.caCert));
    expect(new X509Certificate(readFileSync(paths.serverCert)).verify(ca.publicKey)).toBe(true);

    ensureTlsMaterial(dir, { hosts: [] });

    expect(readFileSync(paths.caCert, "utf8")).toBe(caCert.toString("pem"));
    const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    for (const cert of [paths.serverCert, paths.signerCert, paths.signerClientCert]) {
      const leaf = new X509Certificate(readFileSync(cert));
      expect(leaf.publicKey.asymmetricKeyType).toBe("ec");
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.checkIssued(ca)).toBe(true);
      expect(
        new x509.X509Certificate(leaf.raw).getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId,
      ).toBe(caKeyId);
    }
  });

  it("keeps private keys readable by their owner only", () => {
    const paths = ensureTlsMaterial(dir, { hosts: [] });
    for (const key of [paths.caKey, paths.serverKey, paths.signerKey, paths.signerClientKey]) {
      expect(statSync(key).mode & 0o777).toBe(0o600);
    }
  });

  it("leaves existing material alone when it already covers the hosts", () => {
    const paths = ensureTlsMaterial(dir, { hosts: ["trust.example"] });
    const before = snapshot(paths);
    ensureTlsMaterial(dir, { hosts: ["trust.example", "localhost"] });
    expect(snapshot(paths)).toEqual(before);
  });

  it("reissues only the server certificate, from the same CA, for a new host and keeps the old ones", () => {
    const paths = ensureTlsMaterial(dir, { hosts: ["old.example"] });
    const before = snapshot(paths);
    ensureTlsMaterial(dir, { hosts: ["new.example"] });
    const after = snapshot(paths);
    expect(after.serverCert).not.toBe(before.serverCert);
    expect({ ...after, serverCert: "", serverKey: "" }).toEqual({ ...before, serverCert: "", serverKey: "" });
    const server = new X509Certificate(after.serverCert);
    expect(server.verify(new X509Certificate(after.caCert).publicKey)).toBe(true);
    expect(server.checkHost("new.example")).toBe("new.example");
    expect(server.checkHost("old.example")).toBe("old.example");
  });

  it("reissues a leaf whose files were lost, from the existing CA", () => {
    const paths = ensureTlsMaterial(dir, { hosts: [] });
    const caBefore = readFileSync(paths.caCert, "utf8");
    rmSync(paths.signerKey);
    ensureTlsMaterial(dir, { hosts: [] });
    expect(readFileSync(paths.caCert, "utf8")).toBe(caBefore);
    const signer = new X509Certificate(readFileSync(paths.signerCert));
    expect(signer.checkPrivateKey(createPrivateKey(readFileSync(paths.signerKey)))).toBe(true);
  });

  it("serves https that a client trusting only ca.crt accepts", async () => {
    const paths = ensureTlsMaterial(dir, { hosts: [] });
    const server = createServer(
      { cert: readFileSync(paths.serverCert), key: readFileSync(paths.serverKey) },
      (_req, res) => res.end("hello"),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(
          { host: "127.0.0.1", port, path: "/", ca: readFileSync(paths.caCert), agent: false },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
              text += chunk;
            });
            res.on("end", () => resolve(text));
          },
        );
        req.on("error", reject);
        req.end();
      });
      expect(body).toBe("hello");
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

type FileContents = { [K in Exclude<keyof TlsMaterialPaths, "dir">]: string };

function snapshot(paths: TlsMaterialPaths): FileContents {
  const { dir: _dir, ...files } = paths;
  return Object.fromEntries(
    Object.entries(files).map(([name, path]) => [name, readFileSync(path, "utf8")]),
  ) as FileContents;
}
