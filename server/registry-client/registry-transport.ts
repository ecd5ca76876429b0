/**
 * HTTPS to registries with docker's token flow, shared by the CLI's registry client and the admission
 * check's: a request goes out with the bearer token held for its scope; a 401 with a `Bearer` challenge
 * fetches a token from the realm (Basic credentials when there are any, else anonymous) and the request
 * is sent again; a `Basic` challenge is answered with the credentials themselves, and from then on every
 * request to that host carries them up front. Failures are thrown as RegistryUnreachableError (no answer)
 * or RegistryAnswerError (an answer that settles it), so a fail-closed caller can tell them apart.
 */
import { type Agent, request } from "node:https";
import { parseChallenge } from "../../core/oci/www-authenticate.js";
import { RegistryAnswerError, RegistryUnreachableError, TokenRefusedError } from "./errors.js";

/** Used when the token service gives no `expires_in`: docker's default lifetime for a token. */
const DEFAULT_TOKEN_LIFETIME_MS = 60_000;
/** Bounds the token cache of a long-running server that meets many repositories. */
const MAX_CACHED_TOKENS = 10_000;

export interface Credentials {
  username: string;
  password?: string | undefined;
}

export interface TransportRequest {
  method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
  url: URL;
  headers?: Record<string, string>;
  body?: Uint8Array;
  credentials?: Credentials | undefined;
  /** Names what a bearer token is good for; tokens are cached by host, user and this. */
  tokenKey: string;
  /** The scope to ask the token service for; the challenge's own scope when absent. */
  scope?: string;
  /** How many redirects a GET or HEAD follows (blob storage); credentials never leave the registry's host. */
  maxRedirects?: number;
  /** Cuts the whole exchange (token fetch and retry included) short. */
  signal?: AbortSignal | undefined;
}

export interface TransportReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Where the reply came from, after redirects: relative Location headers resolve against it. */
  url: URL;
}

export interface TransportOptions {
  /** The connection pool (and so the CAs trusted) for a host. */
  agentFor: (host: string) => Agent;
  /** A larger reply is refused rather than held in memory. */
  maxBodyBytes: number;
  /** A socket silent this long fails the request; for callers without a deadline of their own. */
  idleTimeoutMs?: number;
  /** Caps how long a token is reused whatever lifetime the token service grants. */
  maxTokenLifetimeMs?: number;
}

export class RegistryHttpTransport {
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  /** `host user` of registries that asked for Basic authentication. */
  private readonly basicHosts = new Set<string>();

  constructor(private readonly options: TransportOptions) {}

  async send(req: TransportRequest): Promise<TransportReply> {
    const host = req.url.host;
    const user = req.credentials?.username ?? "";
    const tokenKey = `${host} ${user} ${req.tokenKey}`;
    const first = await this.exchange(req, this.authorization(req, tokenKey));
    if (first.status !== 401) return first;
    const challenge = parseChallenge(header(first, "www-authenticate"));
    if (challenge?.scheme === "basic" && req.credentials) {
      this.basicHosts.add(`${host} ${user}`);
      return this.exchange(req, basicAuthorization(req.credentials));
    }
    if (challenge?.scheme !== "bearer" || !challenge.params.realm) return first;
    const token = await this.token(challenge.params, req);
    this.tokens.set(tokenKey, token);
    if (this.tokens.size > MAX_CACHED_TOKENS) this.tokens.clear();
    return this.exchange(req, `Bearer ${token.token}`);
  }

  private authorization(req: TransportRequest, tokenKey: string): string | undefined {
    if (req.credentials && this.basicHosts.has(`${req.url.host} ${req.credentials.username}`))
      return basicAuthorization(req.credentials);
    const cached = this.tokens.get(tokenKey);
    return cached && cached.expiresAt > Date.now() ? `Bearer ${cached.token}` : undefined;
  }

  private async token(
    params: Record<string, string>,
    req: TransportRequest,
  ): Promise<{ token: string; expiresAt: number }> {
    const realm = new URL(params.realm as string);
    if (realm.protocol !== "https:") throw new RegistryAnswerError(`token realm ${realm} is not HTTPS`);
    if (params.service) realm.searchParams.set("service", params.service);
    const scope = req.scope ?? params.scope;
    if (scope) realm.searchParams.set("scope", scope);
    const headers: Record<string, string> = req.credentials
      ? { authorization: basicAuthorization(req.credentials) }
      : {};
    const reply = await this.read(realm, "GET", headers, undefined, req.signal);
    const refused = `the token service ${realm.host} answered ${reply.status}`;
    if (reply.status === 401) throw new TokenRefusedError(refused, realm.host);
    if (reply.status >= 500) throw new RegistryUnreachableError(refused);
    if (reply.status !== 200) throw new RegistryAnswerError(refused);
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(reply.body.toString("utf8"));
    } catch {
      throw new RegistryAnswerError(`the token service of ${realm.host} answered no JSON`);
    }
    const token = typeof body.token === "string" ? body.token : body.access_token;
    if (typeof token !== "string")
      throw new RegistryAnswerError(`the token service of ${realm.host} gave no token`);
    const lifetime = typeof body.expires_in === "number" ? body.expires_in * 1000 : DEFAULT_TOKEN_LIFETIME_MS;
    const cap = this.options.maxTokenLifetimeMs ?? Number.POSITIVE_INFINITY;
    // Kept a little short of its lifetime so it is not used as it expires.
    return { token, expiresAt: Date.now() + Math.min(lifetime * 0.9, cap) };
  }

  /** One request, following redirects for reads (blob stores). */
  private async exchange(req: TransportRequest, authorization: string | undefined): Promise<TransportReply> {
    let target = req.url;
    for (let hops = 0; ; hops++) {
      const sameHost = target.host === req.url.host;
      const headers = { ...req.headers, ...(authorization && sameHost ? { authorization } : {}) };
      const reply = await this.read(target, req.method, headers, req.body, req.signal);
      const location = header(reply, "location");
      const redirected = [301, 302, 303, 307, 308].includes(reply.status);
      if (!redirected || !location || (req.method !== "GET" && req.method !== "HEAD")) return reply;
      if (hops >= (req.maxRedirects ?? 0)) return reply;
      target = new URL(location, target);
      if (target.protocol !== "https:")
        throw new RegistryAnswerError(`${req.url.host} redirected to ${target.protocol}`);
    }
  }

  /** Sends one request and reads the whole reply, within the size limit. */
  private read(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: Uint8Array | undefined,
    signal: AbortSignal | undefined,
  ): Promise<TransportReply> {
    const { maxBodyBytes, idleTimeoutMs } = this.options;
    return new Promise((resolve, reject) => {
      if (signal?.aborted)
        return reject(new RegistryUnreachableError(`${url.host} was not asked: out of time`));
      const req = request(url, {
        method,
        headers: { ...headers, ...(body ? { "content-length": String(body.byteLength) } : {}) },
        agent: this.options.agentFor(url.host),
        ...(signal ? { signal } : {}),
        ...(idleTimeoutMs ? { timeout: idleTimeoutMs } : {}),
      });
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBodyBytes) {
            // Rejected here, not through destroy(err): once the reply has begun that error reaches no listener
            // above, and the cut-off reply would end as if it were whole.
            reject(new RegistryAnswerError(`${url.host} answered more than ${maxBodyBytes} bytes`));
            req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), url }),
        );
        res.on("error", (err) => reject(unreachable(url, err, signal)));
      });
      req.on("timeout", () =>
        req.destroy(new RegistryUnreachableError(`${url.host} did not answer within ${idleTimeoutMs} ms`)),
      );
      req.on("error", (err) => reject(unreachable(url, err, signal)));
      req.end(body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : undefined);
    });
  }
}

function unreachable(url: URL, err: Error, signal: AbortSignal | undefined): Error {
  if (err instanceof RegistryAnswerError || err instanceof RegistryUnreachableError) return err;
  if (signal?.aborted) return new RegistryUnreachableError(`${url.host} did not answer in time`);
  return new RegistryUnreachableError(`${url.host} is unreachable: ${err.message}`);
}

export function header(reply: { headers: TransportReply["headers"] }, name: string): string | undefined {
  const value = reply.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password ?? ""}`).toString("base64")}`;
}
