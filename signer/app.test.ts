import { request } from "node:https";
import type { AddressInfo } from "node:net";
import { DatabaseUnavailableError, type Db } from "../server/storage/db.js";
import { createCertificateAuthority, issueCertificate } from "../server/tls/certificate-authority.js";
import { buildSignerApp } from "./app.js";
import { KeyStore } from "./key-store.js";
import { passphrasesFromEnv } from "./passphrases.js";

// A database that has gone away: every statement fails the way the PostgreSQL driver reports it.
const unreachable = (): Promise<never> =>
  Promise.reject(new DatabaseUnavailableError("connect ECONNREFUSED"));
const downDb: Db = {
  driver: "postgres",
  query: unreachable,
  transaction: unreachable,
  exec: unreachable,
  listen: unreachable,
  close: async () => {},
};

// light-my-request (fastify's inject) cannot load under jest's ESM mode on node 20, so this goes over TLS.
describe("the signer without its database", () => {
  const ca = createCertificateAuthority("Test CA");
  const server = issueCertificate(ca, {
    commonName: "signer",
    ipAddresses: ["127.0.0.1"],
    usage: "server",
    days: 1,
  });
  const client = issueCertificate(ca, { commonName: "client", usage: "client", days: 1 });
  const app = buildSignerApp({
    db: downDb,
    keys: new KeyStore(downDb, passphrasesFromEnv({ TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT: "x" })),
    tls: { cert: server.certPem, key: server.keyPem, ca: ca.certPem },
  });
  let port: number;
  beforeAll(async () => {
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  afterAll(() => app.close());

  function send(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const headers: Record<string, string> = body === undefined ? {} : { "content-type": "application/json" };
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method,
          path,
          headers,
          agent: false,
          ca: ca.certPem,
          cert: client.certPem,
          key: client.keyPem,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
        },
      );
      req.on("error", reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  it.each([
    ["GET", "/v1/health", undefined],
    ["POST", "/v1/keys", { algorithm: "ecdsa" }],
    ["GET", `/v1/keys/${"a".repeat(64)}`, undefined],
    ["POST", `/v1/keys/${"a".repeat(64)}/sign`, { data: "" }],
    ["DELETE", `/v1/keys/${"a".repeat(64)}`, undefined],
  ])("answers %s %s with 503 UNAVAILABLE", async (method, path, body) => {
    const reply = await send(method, path, body);
    expect(reply).toEqual({
      status: 503,
      json: { error: { code: "UNAVAILABLE", message: expect.any(String) } },
    });
  });
});
