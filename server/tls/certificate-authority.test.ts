import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createCertificateAuthority,
  ensureTlsMaterial,
  issueCertificate,
  type TlsMaterialPaths,
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
