import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RegistryAnswerError, RegistryUnreachableError } from "../registry-client/errors.js";
import { ensureTlsMaterial } from "../tls/certificate-authority.js";
import { AdmissionRegistryClient } from "./registry-client.js";

const MANIFEST = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
const DIGEST = `sha256:${createHash("sha256").update(MANIFEST).digest("hex")}`;

describe("the admission check's registry client", () => {
  let dir: string;
  let server: Server;
  let host: string;
  let ca: string;
  const seen: Array<{ url: string; authorization: string | undefined }> = [];
  let handle: (req: IncomingMessage, res: ServerResponse) => void;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "trustdock-registry-client-"));
    const tls = ensureTlsMaterial(dir, { hosts: ["127.0.0.1"] });
    ca = readFileSync(tls.caCert, "utf8");
    server = createServer(
      { cert: readFileSync(tls.serverCert), key: readFileSync(tls.serverKey) },
      (req, res) => {
        seen.push({ url: req.url ?? "", authorization: req.headers.authorization });
        handle(req, res);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen.length = 0;
  });

  const client = (settings: { username?: string; password?: string } = {}) =>
    new AdmissionRegistryClient(() => ({ ca, ...settings }));
  const signal = () => AbortSignal.timeout(5000);

  it("follows a Bearer challenge to the token service with the credentials, and reuses the token", async () => {
    const basic = `Basic ${Buffer.from("bot:secret").toString("base64")}`;
    handle = (req, res) => {
      if (req.url?.startsWith("/token?")) {
        if (req.headers.authorization !== basic) return res.writeHead(401).end();
        return res.end(JSON.stringify({ token: "t0k3n", expires_in: 300 }));
      }
      if (req.headers.authorization !== "Bearer t0k3n") {
        res.setHeader(
          "www-authenticate",
          `Bearer realm="https://${host}/token",service="registry",scope="repository:team/app:pull"`,
        );
        return res.writeHead(401).end();
      }
      res.setHeader("docker-content-digest", DIGEST);
      res.end(MANIFEST);
    };
    const registry = client({ username: "bot", password: "secret" });
    try {
      expect(await registry.resolveManifest(host, "team/app", "v1", signal())).toEqual({
        digest: DIGEST,
        size: MANIFEST.length,
      });
      expect(await registry.resolveManifest(host, "team/app", "v2", signal())).toMatchObject({
        digest: DIGEST,
      });
    } finally {
      registry.close();
    }
    expect(seen.map((r) => r.url)).toEqual([
      "/v2/team/app/manifests/v1",
      "/token?service=registry&scope=repository%3Ateam%2Fapp%3Apull",
      "/v2/team/app/manifests/v1",
      "/v2/team/app/manifests/v2",
    ]);
    expect(seen[3]?.authorization).toBe("Bearer t0k3n");
  });

  it("refuses a manifest whose bytes are not the digest the registry claims", async () => {
    handle = (_req, res) => {
      res.setHeader("docker-content-digest", `sha256:${"0".repeat(64)}`);
      res.end(MANIFEST);
    };
    const registry = client();
    await expect(registry.resolveManifest(host, "a/b", "v1", signal())).rejects.toThrow(RegistryAnswerError);
    registry.close();
  });

  it("tells a registry that cannot answer (5xx, out of time) from one that answers no", async () => {
    const registry = client();
    try {
      handle = (_req, res) => res.writeHead(503).end();
      await expect(registry.resolveManifest(host, "a/b", "v1", signal())).rejects.toThrow(
        RegistryUnreachableError,
      );
      handle = (_req, res) => res.writeHead(404).end();
      await expect(registry.resolveManifest(host, "a/b", "v1", signal())).rejects.toThrow(
        /is not in the registry/,
      );
      expect(await registry.trustFile(host, `${host}/a/b`, "root", signal())).toBeUndefined();
      handle = () => {}; // never answers
      await expect(registry.resolveManifest(host, "a/b", "v1", AbortSignal.timeout(300))).rejects.toThrow(
        /did not answer in time/,
      );
    } finally {
      registry.close();
    }
  });

  it("follows a blob redirect to storage without the registry's credentials", async () => {
    handle = (req, res) => {
      if (req.url === "/v2/a/b/blobs/sha256:1")
        return res.writeHead(307, { location: "/storage/blob-1" }).end();
      if (req.url === "/storage/blob-1") return res.end("blob bytes");
      res.writeHead(404).end();
    };
    const registry = client({ username: "u", password: "p" });
    try {
      expect(Buffer.from((await registry.blob(host, "a/b", "sha256:1", signal())) ?? []).toString()).toBe(
        "blob bytes",
      );
    } finally {
      registry.close();
    }
    expect(seen.map((r) => [r.url, r.authorization])).toEqual([
      ["/v2/a/b/blobs/sha256:1", undefined],
      ["/storage/blob-1", undefined],
    ]);
  });
});
