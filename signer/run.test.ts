import { createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toBase64 } from "../core/encoding.js";
import { verifySignature } from "../core/tuf/signatures.js";
import { openDatabase } from "../server/storage/open.js";
import {
  createCertificateAuthority,
  ensureTlsMaterial,
  issueCertificate,
  type TlsMaterialPaths,
} from "../server/tls/certificate-authority.js";
import { PassphraseSealer } from "./encryption.js";
import { passphrasesFromEnv } from "./passphrases.js";
import type { KeyResponse, SignResponse, TufPublicKey } from "./protocol.js";
import { type RunningSigner, startSigner } from "./run.js";

const env = { TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT: "signer test passphrase" };
const data = Buffer.from('{"signed":{"_type":"timestamp","version":7}}');

let root: string;
let tls: TlsMaterialPaths;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "trustdock-signer-"));
  tls = ensureTlsMaterial(join(root, "tls"), { hosts: [] });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function start(dataDir: string, passphrases: Record<string, string> = env): Promise<RunningSigner> {
  return startSigner({
    addr: "127.0.0.1:0",
    dataDir,
    passphrases: passphrasesFromEnv(passphrases),
    tls: {
      cert: readFileSync(tls.signerCert, "utf8"),
      key: readFileSync(tls.signerKey, "utf8"),
      ca: readFileSync(tls.caCert, "utf8"),
    },
  });
}

interface Reply {
  status: number;
  text: string;
}

/** One HTTPS exchange on a fresh connection, presenting `identity` as the client certificate if given. */
function exchange(
  url: string,
  method: string,
  path: string,
  opts: {
    body?: unknown;
    raw?: string;
    contentType?: string;
    identity?: { cert: string; key: string } | null;
  } = {},
): Promise<Reply> {
  const identity =
    opts.identity === undefined
      ? { cert: readFileSync(tls.signerClientCert, "utf8"), key: readFileSync(tls.signerClientKey, "utf8") }
      : opts.identity;
  const payload = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const headers: Record<string, string> = {};
  if (payload !== undefined) headers["content-type"] = opts.contentType ?? "application/json";
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, url),
      { method, headers, agent: false, ca: readFileSync(tls.caCert), ...(identity ?? {}) },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

// The check the trust server and notary's clients make: the key, the method named, the bytes.
function verifies(
  key: { keyId: string; publicKey: TufPublicKey },
  method: string,
  signature: Uint8Array,
): boolean {
  return verifySignature(key.publicKey, { keyid: key.keyId, method, sig: toBase64(signature) }, data);
}

describe("the signer over mutual TLS", () => {
  let signer: RunningSigner;
  beforeAll(async () => {
    signer = await start(join(root, "api"));
  });
  afterAll(() => signer.close());

  it.each([
    ["ecdsa", "ecdsa"],
    ["ed25519", "eddsa"],
  ])("creates, shows, signs with (method %s) and deletes %s keys", async (algorithm, method) => {
    const created = await exchange(signer.url, "POST", "/v1/keys", {
      body: { algorithm, gun: "g/r", role: "snapshot" },
    });
    expect(created.status).toBe(201);
    const key = JSON.parse(created.text) as KeyResponse;
    expect(key.algorithm).toBe(algorithm);
    expect(key.publicKey).toEqual({
      keytype: algorithm,
      keyval: { public: expect.any(String), private: null },
    });

    const shown = await exchange(signer.url, "GET", `/v1/keys/${key.keyId}`);
    expect([shown.status, JSON.parse(shown.text)]).toEqual([200, key]);

    const signed = await exchange(signer.url, "POST", `/v1/keys/${key.keyId}/sign`, {
      body: { data: data.toString("base64") },
    });
    expect(signed.status).toBe(200);
    const signature = JSON.parse(signed.text) as SignResponse;
    expect(signature).toEqual({ keyId: key.keyId, method, signature: expect.any(String) });
    expect(verifies(key, method, Buffer.from(signature.signature, "base64"))).toBe(true);

    expect((await exchange(signer.url, "DELETE", `/v1/keys/${key.keyId}`)).status).toBe(204);
    expect((await exchange(signer.url, "GET", `/v1/keys/${key.keyId}`)).status).toBe(404);
  });

  it("creates ECDSA keys when no algorithm is named", async () => {
    const created = await exchange(signer.url, "POST", "/v1/keys", { body: {} });
    expect(JSON.parse(created.text).algorithm).toBe("ecdsa");
  });

  it.each([
    ["GET", "/v1/keys/"],
    ["POST", "/v1/keys//sign"],
    ["DELETE", "/v1/keys/"],
  ])("answers %s %s<unknown> with 404 KEY_NOT_FOUND", async (method, prefix) => {
    const unknown = "f".repeat(64);
    const path = prefix.includes("//") ? prefix.replace("//", `/${unknown}/`) : `${prefix}${unknown}`;
    const reply = await exchange(signer.url, method, path, method === "POST" ? { body: { data: "" } } : {});
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.text)).toEqual({ error: { code: "KEY_NOT_FOUND", message: expect.any(String) } });
  });

  const someKey = `/v1/keys/${"a".repeat(64)}/sign`;
  it.each([
    ["an unknown algorithm", "/v1/keys", { body: { algorithm: "rsa" } }],
    ["an unexpected field", "/v1/keys", { body: { algorithm: "ecdsa", private: "please" } }],
    ["a GUN that is not a string", "/v1/keys", { body: { gun: 5 } }],
    ["an array body", "/v1/keys", { body: [] }],
    ["malformed JSON", "/v1/keys", { raw: '{"algorithm":' }],
    ["no data to sign", someKey, { body: {} }],
    ["data that is not base64", someKey, { body: { data: "not base64!" } }],
    ["data that is a number", someKey, { body: { data: 12 } }],
    ["a malformed key ID", "/v1/keys/ABC/sign", { body: { data: "" } }],
  ])("answers %s with 400 INVALID_REQUEST", async (_case, path, opts) => {
    const reply = await exchange(signer.url, "POST", path, opts);
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text)).toEqual({
      error: { code: "INVALID_REQUEST", message: expect.any(String) },
    });
  });

  it("answers a form body with 415 INVALID_REQUEST", async () => {
    const reply = await exchange(signer.url, "POST", "/v1/keys", {
      raw: "algorithm=ecdsa",
      contentType: "application/x-www-form-urlencoded",
    });
    expect(reply.status).toBe(415);
    expect(JSON.parse(reply.text).error.code).toBe("INVALID_REQUEST");
  });

  it("answers unknown routes with 404 NOT_FOUND", async () => {
    const reply = await exchange(signer.url, "GET", "/v2/keys");
    expect([reply.status, JSON.parse(reply.text).error.code]).toEqual([404, "NOT_FOUND"]);
  });

  it("reports itself healthy while its database answers", async () => {
    const reply = await exchange(signer.url, "GET", "/v1/health");
    expect([reply.status, JSON.parse(reply.text)]).toEqual([200, { status: "ok" }]);
  });

  it("refuses a client without a certificate at the TLS layer", async () => {
    await expect(exchange(signer.url, "GET", "/v1/health", { identity: null })).rejects.toThrow();
  });

  it("refuses a client certificate from another CA at the TLS layer", async () => {
    const otherCa = createCertificateAuthority("Someone else's CA");
    const stranger = issueCertificate(otherCa, { commonName: "trustdock-server", usage: "client", days: 1 });
    await expect(
      exchange(signer.url, "GET", "/v1/health", {
        identity: { cert: stranger.certPem, key: stranger.keyPem },
      }),
    ).rejects.toThrow();
  });

  it("refuses a certificate from its own CA that is not for client authentication", async () => {
    const identity = { cert: readFileSync(tls.serverCert, "utf8"), key: readFileSync(tls.serverKey, "utf8") };
    await expect(exchange(signer.url, "GET", "/v1/health", { identity })).rejects.toThrow();
  });
});

describe("the signer across restarts", () => {
  it("keeps keys on the same data directory", async () => {
    const dataDir = join(root, "restart");
    const first = await start(dataDir);
    const created = await exchange(first.url, "POST", "/v1/keys", { body: { algorithm: "ed25519" } });
    const key = JSON.parse(created.text) as KeyResponse;
    await first.close();

    const second = await start(dataDir);
    try {
      const shown = await exchange(second.url, "GET", `/v1/keys/${key.keyId}`);
      expect(JSON.parse(shown.text)).toEqual(key);
      const signed = await exchange(second.url, "POST", `/v1/keys/${key.keyId}/sign`, {
        body: { data: data.toString("base64") },
      });
      const { method, signature } = JSON.parse(signed.text) as SignResponse;
      expect(verifies(key, method, Buffer.from(signature, "base64"))).toBe(true);
    } finally {
      await second.close();
    }
  });

  it("refuses to start with a wrong passphrase, naming the variable", async () => {
    const dataDir = join(root, "wrong-passphrase");
    const first = await start(dataDir);
    await exchange(first.url, "POST", "/v1/keys", { body: {} });
    await first.close();
    await expect(start(dataDir, { TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT: "not it" })).rejects.toThrow(
      /TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT does not decrypt/,
    );
    // The refused start left nothing holding the database: the right passphrase still works.
    await (await start(dataDir)).close();
  });

  it("refuses to start without a passphrase for the default alias", async () => {
    await expect(start(join(root, "no-passphrase"), {})).rejects.toThrow(
      'no passphrase for signer key alias "default": set TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT',
    );
  });

  it("never puts private key bytes in a response", async () => {
    const dataDir = join(root, "no-leak");
    const signer = await start(dataDir);
    const replies: string[] = [];
    const keyIds: string[] = [];
    for (const algorithm of ["ecdsa", "ed25519"]) {
      const created = await exchange(signer.url, "POST", "/v1/keys", { body: { algorithm } });
      const { keyId } = JSON.parse(created.text) as KeyResponse;
      keyIds.push(keyId);
      replies.push(
        created.text,
        (await exchange(signer.url, "GET", `/v1/keys/${keyId}`)).text,
        (await exchange(signer.url, "POST", `/v1/keys/${keyId}/sign`, { body: { data: "" } })).text,
      );
    }
    await signer.close();

    const db = await openDatabase({ dataDir, name: "signer" });
    try {
      const sealer = new PassphraseSealer(passphrasesFromEnv(env));
      for (const keyId of keyIds) {
        const [row] = await db.query<{ encrypted_private_key: Uint8Array; passphrase_alias: string }>(
          "SELECT encrypted_private_key, passphrase_alias FROM signer_keys WHERE key_id = $1",
          [keyId],
        );
        if (row === undefined) throw new Error(`key ${keyId} was not stored`);
        const pkcs8 = await sealer.unseal(row.encrypted_private_key, row.passphrase_alias, keyId);
        const jwk = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }).export({ format: "jwk" });
        const secret = Buffer.from(jwk.d ?? "", "base64url");
        const encodings = [pkcs8, secret].flatMap((bytes) =>
          (["base64", "base64url", "hex"] as const).map((encoding) => bytes.toString(encoding)),
        );
        for (const reply of replies) for (const encoded of encodings) expect(reply).not.toContain(encoded);
      }
    } finally {
      await db.close();
    }
  });
});
