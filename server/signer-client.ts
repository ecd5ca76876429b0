import { Agent, request as httpsRequest } from "node:https";
import { fromBase64, toBase64 } from "../core/encoding.js";
import type {
  ErrorResponse,
  KeyAlgorithm,
  KeyResponse,
  SignatureMethod,
  TufPublicKey,
} from "../signer/protocol.js";

export type { KeyAlgorithm, SignatureMethod, TufPublicKey } from "../signer/protocol.js";

export interface SignerClientOptions {
  readonly url: string;
  /** PEM text: the CA that issued the signer's certificate, and this client's certificate and key. */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** The most one call may take, connection included; 5 s unless given. */
  readonly timeoutMs?: number;
}

export type SignerKey = KeyResponse;

export interface SignerSignature {
  readonly keyId: string;
  /** `ecdsa` or `eddsa` (notary's name for Ed25519), ready for a TUF signature's `method`. */
  readonly method: SignatureMethod;
  readonly signature: Uint8Array;
}

export type SignerClientErrorCode = "UNAVAILABLE" | "KEY_NOT_FOUND" | "REQUEST_REJECTED";

export class SignerClientError extends Error {
  override readonly name: string = "SignerClientError";

  constructor(
    readonly code: SignerClientErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The signer cannot be reached, did not answer in time, or answered that it cannot serve: a 503 upstream. */
export class SignerUnavailableError extends SignerClientError {
  override readonly name = "SignerUnavailableError";

  constructor(message: string, options?: ErrorOptions) {
    super("UNAVAILABLE", message, options);
  }
}

export class SignerKeyNotFoundError extends SignerClientError {
  override readonly name = "SignerKeyNotFoundError";

  constructor(readonly keyId: string) {
    super("KEY_NOT_FOUND", `the signer has no key with ID ${keyId}`);
  }
}

/** The signer refused the request itself (a 4xx other than an unknown key): a bug on this side. */
export class SignerRequestError extends SignerClientError {
  override readonly name = "SignerRequestError";

  constructor(
    readonly status: number,
    readonly signerCode: string,
    message: string,
  ) {
    super("REQUEST_REJECTED", message);
  }
}

const DEFAULT_TIMEOUT_MS = 5000;
// Below the signer's keep-alive timeout (fastify's is 72 s), so the client drops an idle connection first.
const IDLE_SOCKET_MS = 30_000;
const STALE_SOCKET_ERRORS = new Set(["ECONNRESET", "EPIPE"]);

interface RawResponse {
  status: number;
  body: string;
}

/** The trust server's way to the signer: mutual TLS over kept-alive connections, each call within a deadline. */
export class SignerClient {
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly agent: Agent;

  constructor(opts: SignerClientOptions) {
    this.base = new URL(opts.url);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.agent = new Agent({
      keepAlive: true,
      timeout: IDLE_SOCKET_MS,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
    });
  }

  async createKey(
    algorithm: KeyAlgorithm = "ecdsa",
    labels: { gun?: string; role?: string } = {},
  ): Promise<SignerKey> {
    const response = await this.call("POST", "/v1/keys", { algorithm, ...labels });
    return this.keyFrom(this.expect(response, 201));
  }

  async getPublicKey(keyId: string): Promise<SignerKey> {
    const response = await this.call("GET", keyPath(keyId));
    return this.keyFrom(this.expect(response, 200, keyId));
  }

  async sign(keyId: string, data: Uint8Array): Promise<SignerSignature> {
    const response = await this.call("POST", `${keyPath(keyId)}/sign`, {
      data: toBase64(data),
    });
    const body = this.expect(response, 200, keyId);
    if (
      !isRecord(body) ||
      typeof body.keyId !== "string" ||
      (body.method !== "ecdsa" && body.method !== "eddsa") ||
      typeof body.signature !== "string"
    ) {
      throw this.unreadable();
    }
    return {
      keyId: body.keyId,
      method: body.method,
      signature: fromBase64(body.signature),
    };
  }

  async deleteKey(keyId: string): Promise<void> {
    this.expect(await this.call("DELETE", keyPath(keyId)), 204, keyId);
  }

  /** Resolves when the signer and its database answer; throws SignerUnavailableError otherwise. */
  async health(): Promise<void> {
    this.expect(await this.call("GET", "/v1/health"), 200);
  }

  close(): void {
    this.agent.destroy();
  }

  private async call(method: string, path: string, payload?: unknown): Promise<RawResponse> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const body = payload === undefined ? undefined : JSON.stringify(payload);
    try {
      try {
        return await this.send(method, path, body, deadline);
      } catch (err) {
        // A kept-alive connection the signer closed while idle fails on first use. One more try on a fresh
        // connection, within the same deadline, covers that race; at worst a create is repeated and one
        // key is left unused.
        if (!(err instanceof StaleConnection) || deadline.aborted) throw err;
        return await this.send(method, path, body, deadline);
      }
    } catch (err) {
      const reason = deadline.aborted
        ? `did not answer within ${this.timeoutMs} ms`
        : `cannot be reached: ${err instanceof Error ? err.message : String(err)}`;
      throw new SignerUnavailableError(`the signer at ${this.base.origin} ${reason}`, { cause: err });
    }
  }

  private send(
    method: string,
    path: string,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: "application/json" };
      if (body !== undefined) headers["content-type"] = "application/json";
      const req = httpsRequest(
        new URL(path, this.base),
        { method, headers, agent: this.agent, signal },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
          );
        },
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        const stale = req.reusedSocket && err.code !== undefined && STALE_SOCKET_ERRORS.has(err.code);
        reject(stale ? new StaleConnection(err) : err);
      });
      req.end(body);
    });
  }

  /** The parsed body of an answer with status `ok`; any other answer becomes the matching error. */
  private expect(response: RawResponse, ok: number, keyId?: string): unknown {
    const body = parseJson(response.body);
    if (response.status === ok) {
      if (response.body !== "" && body === undefined) throw this.unreadable();
      return body;
    }
    const error = isErrorResponse(body)
      ? body.error
      : { code: "UNKNOWN", message: response.body.slice(0, 200) };
    if (response.status === 404 && error.code === "KEY_NOT_FOUND" && keyId !== undefined) {
      throw new SignerKeyNotFoundError(keyId);
    }
    if (response.status >= 500) {
      throw new SignerUnavailableError(
        `the signer at ${this.base.origin} answered ${response.status} ${error.code}: ${error.message}`,
      );
    }
    throw new SignerRequestError(
      response.status,
      error.code,
      `the signer at ${this.base.origin} refused the request with ${response.status} ${error.code}: ${error.message}`,
    );
  }

  private keyFrom(body: unknown): SignerKey {
    if (
      !isRecord(body) ||
      typeof body.keyId !== "string" ||
      (body.algorithm !== "ecdsa" && body.algorithm !== "ed25519") ||
      !isTufPublicKey(body.publicKey)
    ) {
      throw this.unreadable();
    }
    return { keyId: body.keyId, algorithm: body.algorithm, publicKey: body.publicKey };
  }

  // Something that is not our signer answers there, so for the server the signer is as good as down.
  private unreadable(): SignerUnavailableError {
    return new SignerUnavailableError(
      `the signer at ${this.base.origin} sent a response this client cannot read`,
    );
  }
}

class StaleConnection extends Error {
  override readonly name = "StaleConnection";

  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}

function keyPath(keyId: string): string {
  return `/v1/keys/${encodeURIComponent(keyId)}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isTufPublicKey(value: unknown): value is TufPublicKey {
  return (
    isRecord(value) &&
    typeof value.keytype === "string" &&
    isRecord(value.keyval) &&
    typeof value.keyval.public === "string" &&
    value.keyval.private === null
  );
}

function isErrorResponse(value: unknown): value is ErrorResponse {
  return (
    isRecord(value) &&
    isRecord(value.error) &&
    typeof value.error.code === "string" &&
    typeof value.error.message === "string"
  );
}
