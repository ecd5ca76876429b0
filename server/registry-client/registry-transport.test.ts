import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Agent, createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureTlsMaterial } from "../tls/certificate-authority.js";
import { RegistryAnswerError, RegistryUnreachableError, TokenRefusedError } from "./errors.js";
import { RegistryHttpTransport, type TransportRequest } from "./registry-transport.js";

const BOT = { username: "bot", password: "secret" };
const BOT_BASIC = `Basic ${Buffer.from("bot:secret").toString("base64")}`;

describe("the registry transport's token flow", () => {
  let dir: string;
  let server: Server;
  let port: number;
  let agent: Agent;
  const seen: Array<{ host: string; url: string; authorization: string | undefined }> = [];
  let handle: (req: IncomingMessage, res: ServerResponse) => void;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "trustdock-registry-transport-"));
    const tls = ensureTlsMaterial(dir, { hosts: ["127.0.0.1", "localhost"] });
    agent = new Agent({ keepAlive: true, ca: readFileSync(tls.caCert, "utf8") });
    server = createServer(
      { cert: readFileSync(tls.serverCert), key: readFileSync(tls.serverKey) },
      (req, res) => {
        seen.push({
          host: req.headers.host ?? "",
          url: req.url ?? "",
          authorization: req.headers.authorization,
        });
        handle(req, res);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen.length = 0;
  });

  const transport = (options: { maxBodyBytes?: number; idleTimeoutMs?: number } = {}) =>
    new RegistryHttpTransport({ agentFor: () => agent, maxBodyBytes: 1024, ...options });
  const get = (path: string, more: Partial<TransportRequest> = {}): TransportRequest => ({
    method: "GET",
    url: new URL(`https://127.0.0.1:${port}${path}`),
    tokenKey: "a/b",
    ...more,
  });
  const bearerRegistry = (token: string, tokenReply: (res: ServerResponse) => void) => {
    handle = (req, res) => {
      if (req.url?.startsWith("/token?")) return tokenReply(res);
      if (req.headers.authorization === `Bearer ${token}`) return res.end("ok");
      res.setHeader(
        "www-authenticate",
        `Bearer realm="https://127.0.0.1:${port}/token",service="reg",scope="repository:a/b:pull"`,
      );
      res.writeHead(401).end();
    };
  };

  it("asks the token service for the request's own scope, and reuses the token for the same key", async () => {
    bearerRegistry("t1", (res) => res.end(JSON.stringify({ token: "t1", expires_in: 300 })));
    const http = transport();
    const scope = "repository:a/b:pull,push";
    expect((await http.send(get("/v2/a/b/manifests/1", { scope, credentials: BOT }))).body.toString()).toBe(
      "ok",
    );
    expect((await http.send(get("/v2/a/b/manifests/2", { scope, credentials: BOT }))).status).toBe(200);
    expect(seen.map((r) => [r.url, r.authorization])).toEqual([
      ["/v2/a/b/manifests/1", undefined],
      ["/token?service=reg&scope=repository%3Aa%2Fb%3Apull%2Cpush", BOT_BASIC],
      ["/v2/a/b/manifests/1", "Bearer t1"],
      ["/v2/a/b/manifests/2", "Bearer t1"],
    ]);
  });

  it("asks anonymously for the challenge's scope when the request names none", async () => {
    bearerRegistry("anon", (res) => res.end(JSON.stringify({ access_token: "anon" })));
    expect((await transport().send(get("/v2/a/b/manifests/1"))).status).toBe(200);
    expect(seen[1]).toMatchObject({
      url: "/token?service=reg&scope=repository%3Aa%2Fb%3Apull",
      authorization: undefined,
    });
  });

  it("answers a Basic challenge with the credentials, then sends them up front", async () => {
    handle = (req, res) => {
      if (req.headers.authorization === BOT_BASIC) return res.end("ok");
      res.writeHead(401, { "www-authenticate": 'Basic realm="reg"' }).end();
    };
    const http = transport();
    expect((await http.send(get("/v2/a/b/manifests/1", { credentials: BOT }))).status).toBe(200);
    expect((await http.send(get("/v2/c/d/manifests/1", { credentials: BOT }))).status).toBe(200);
    expect(seen.map((r) => r.authorization)).toEqual([undefined, BOT_BASIC, BOT_BASIC]);
  });

  it("tells a token service that refuses from one that cannot answer", async () => {
    bearerRegistry("never", (res) => res.writeHead(401).end());
    const refused = transport().send(get("/v2/a/b/manifests/1", { credentials: BOT }));
    await expect(refused).rejects.toThrow(TokenRefusedError);
    await expect(refused).rejects.toThrow(`the token service 127.0.0.1:${port} answered 401`);
    bearerRegistry("never", (res) => res.writeHead(503).end());
    await expect(transport().send(get("/v2/a/b/manifests/1"))).rejects.toThrow(RegistryUnreachableError);
    bearerRegistry("never", (res) => res.end("{}"));
    await expect(transport().send(get("/v2/a/b/manifests/1"))).rejects.toThrow(/gave no token/);
  });

  it("follows a read's redirect, keeping the credentials from another host", async () => {
    handle = (req, res) => {
      if (req.url === "/v2/a/b/blobs/1") {
        if (req.headers.authorization !== BOT_BASIC)
          return res.writeHead(401, { "www-authenticate": 'Basic realm="reg"' }).end();
        return res.writeHead(307, { location: `https://localhost:${port}/storage/1` }).end();
      }
      res.end("blob");
    };
    const reply = await transport().send(get("/v2/a/b/blobs/1", { credentials: BOT, maxRedirects: 1 }));
    expect(reply.body.toString()).toBe("blob");
    expect(reply.url.host).toBe(`localhost:${port}`);
    expect(seen.map((r) => [r.url, r.authorization])).toEqual([
      ["/v2/a/b/blobs/1", undefined],
      ["/v2/a/b/blobs/1", BOT_BASIC],
      ["/storage/1", undefined],
    ]);
  });

  it("fails closed: too large a reply is an answer, no reply in time is unreachable", async () => {
    handle = (_req, res) => res.end(Buffer.alloc(4096));
    await expect(transport().send(get("/big"))).rejects.toThrow(RegistryAnswerError);
    await expect(transport().send(get("/big", { signal: AbortSignal.abort() }))).rejects.toThrow(
      `127.0.0.1:${port} was not asked: out of time`,
    );
    handle = () => {}; // never answers
    await expect(transport().send(get("/slow", { signal: AbortSignal.timeout(200) }))).rejects.toThrow(
      `127.0.0.1:${port} did not answer in time`,
    );
    await expect(transport({ idleTimeoutMs: 200 }).send(get("/slow"))).rejects.toThrow(
      RegistryUnreachableError,
    );
  });
});
