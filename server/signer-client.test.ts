import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canonicalJson } from "../core/canonical-json.js";
import { toBase64 } from "../core/encoding.js";
import { verifySignature } from "../core/tuf/signatures.js";
import { passphrasesFromEnv } from "../signer/passphrases.js";
import { type RunningSigner, startSigner } from "../signer/run.js";
import {
  type KeyAlgorithm,
  SignerClient,
  SignerKeyNotFoundError,
  SignerRequestError,
  SignerUnavailableError,
  type TufPublicKey,
} from "./signer-client.js";
import {
  createCertificateAuthority,
  ensureTlsMaterial,
  type TlsMaterialPaths,
} from "./tls/certificate-authority.js";

const data = new TextEncoder().encode('{"signed":{"_type":"timestamp","version":1}}');

let root: string;
let tls: TlsMaterialPaths;
let signer: RunningSigner;
let client: SignerClient;

const pem = (path: string): string => readFileSync(path, "utf8");

function start(addr = "127.0.0.1:0"): Promise<RunningSigner> {
  return startSigner({
    addr,
    dataDir: join(root, "data"),
    passphrases: passphrasesFromEnv({ TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT: "client test passphrase" }),
    tls: { cert: pem(tls.signerCert), key: pem(tls.signerKey), ca: pem(tls.caCert) },
  });
}

function clientFor(url: string, timeoutMs?: number, ca = pem(tls.caCert)): SignerClient {
  return new SignerClient({
    url,
    ca,
    cert: pem(tls.signerClientCert),
    key: pem(tls.signerClientKey),
    timeoutMs,
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "trustdock-signer-client-"));
  tls = ensureTlsMaterial(join(root, "tls"), { hosts: [] });
  signer = await start();
  client = clientFor(signer.url);
});
afterAll(async () => {
  client.close();
  await signer.close();
  rmSync(root, { recursive: true, force: true });
});

// The check the trust server and notary's clients make: the key, the method named, the bytes.
function verifies(
  key: { keyId: string; publicKey: TufPublicKey },
  method: string,
  signature: Uint8Array,
): boolean {
  return verifySignature(key.publicKey, { keyid: key.keyId, method, sig: toBase64(signature) }, data);
}

async function elapsed(work: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await work();
    return { error: undefined, ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

describe("SignerClient against a running signer", () => {
  it.each<[KeyAlgorithm, string]>([
    ["ecdsa", "ecdsa"],
    ["ed25519", "eddsa"],
  ])("creates %s keys and gets signatures that verify as notary's method %s", async (algorithm, method) => {
    const key = await client.createKey(algorithm, { gun: "example.com/app", role: "timestamp" });
    expect(key.algorithm).toBe(algorithm);
    expect(key.keyId).toBe(createHash("sha256").update(canonicalJson(key.publicKey)).digest("hex"));
    expect(await client.getPublicKey(key.keyId)).toEqual(key);
    const signed = await client.sign(key.keyId, data);
    expect(signed.keyId).toBe(key.keyId);
    expect(signed.method).toBe(method);
    expect(signed.signature).toBeInstanceOf(Uint8Array);
    expect(verifies(key, signed.method, signed.signature)).toBe(true);
  });

  it("throws SignerKeyNotFoundError for unknown and deleted keys", async () => {
    const { keyId } = await client.createKey();
    await client.deleteKey(keyId);
    await expect(client.getPublicKey(keyId)).rejects.toBeInstanceOf(SignerKeyNotFoundError);
    await expect(client.sign(keyId, data)).rejects.toBeInstanceOf(SignerKeyNotFoundError);
    await expect(client.deleteKey(keyId)).rejects.toMatchObject({ code: "KEY_NOT_FOUND", keyId });
  });

  it("throws SignerRequestError when the signer rejects the request itself", async () => {
    const error = await client.createKey("rsa" as KeyAlgorithm).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SignerRequestError);
    expect(error).toMatchObject({ status: 400, signerCode: "INVALID_REQUEST" });
  });

  it("reports the signer healthy", async () => {
    await expect(client.health()).resolves.toBeUndefined();
  });

  it("treats a signer certificate it does not trust as unavailable", async () => {
    const stranger = clientFor(signer.url, 2000, createCertificateAuthority("Another CA").certPem);
    try {
      await expect(stranger.health()).rejects.toBeInstanceOf(SignerUnavailableError);
    } finally {
      stranger.close();
    }
  });
});

describe("SignerClient when the signer fails", () => {
  it("throws SignerUnavailableError naming the signer while it is down, and works once it is back", async () => {
    const key = await client.createKey("ecdsa");
    const { port } = new URL(signer.url);
    await signer.close();

    const down = await elapsed(() => client.sign(key.keyId, data));
    expect(down.error).toBeInstanceOf(SignerUnavailableError);
    expect((down.error as Error).message).toContain(signer.url);
    expect(down.ms).toBeLessThan(5000);

    signer = await start(`127.0.0.1:${port}`);
    const { method, signature } = await client.sign(key.keyId, data);
    expect(verifies(key, method, signature)).toBe(true);
  });

  describe("with a signer that accepts connections but never answers", () => {
    let silent: Server;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      silent = createTcpServer((socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });

    it("gives up with SignerUnavailableError once the timeout has passed", async () => {
      const url = `https://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const hung = clientFor(url, 300);
      try {
        const { error, ms } = await elapsed(() => hung.sign("a".repeat(64), data));
        expect(error).toBeInstanceOf(SignerUnavailableError);
        expect((error as Error).message).toBe(`the signer at ${url} did not answer within 300 ms`);
        expect(ms).toBeGreaterThanOrEqual(290);
        expect(ms).toBeLessThan(1500);
      } finally {
        hung.close();
      }
    });
  });

  it("throws SignerUnavailableError when the signer answers 503", async () => {
    const unavailable = createHttpsServer(
      { cert: pem(tls.signerCert), key: pem(tls.signerKey) },
      (_req, res) => {
        res.writeHead(503, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            error: { code: "UNAVAILABLE", message: "the signer's database does not answer" },
          }),
        );
      },
    );
    await new Promise<void>((resolve) => unavailable.listen(0, "127.0.0.1", resolve));
    const url = `https://127.0.0.1:${(unavailable.address() as AddressInfo).port}`;
    const degraded = clientFor(url);
    try {
      await expect(degraded.sign("a".repeat(64), data)).rejects.toThrow(
        new SignerUnavailableError(
          `the signer at ${url} answered 503 UNAVAILABLE: the signer's database does not answer`,
        ),
      );
    } finally {
      degraded.close();
      await new Promise<void>((resolve) => unavailable.close(() => resolve()));
    }
  });
});
