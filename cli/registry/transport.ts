/**
 * HTTPS to one registry with docker's token flow: a request goes out with the token held for its scope;
 * a 401 with a `Bearer` challenge fetches a token from the realm (Basic credentials when there are any)
 * for the repository and actions the request needs, and the request is sent again; a `Basic` challenge
 * is answered with the credentials themselves.
 */
import { Agent, request } from "node:https";
import { rootCertificates } from "node:tls";
import type { RegistryCredentials } from "../../core/admission/docker-config.js";
import { parseChallenge } from "../../server/admission/registry-client.js";

const TIMEOUT_MS = 30_000;
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const MAX_REDIRECTS = 5;

export type Action = "pull" | "push";

export interface RegistryRequest {
  method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
  /** A path on the registry (`/v2/...`) or an absolute URL it handed out (an upload location). */
  path: string;
  repository: string;
  action: Action;
  headers?: Record<string, string>;
  body?: Uint8Array;
}

export interface RegistryReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Where the reply came from, after redirects: relative Location headers resolve against it. */
  url: URL;
}

export class RegistryTransportError extends Error {
  override readonly name = "RegistryTransportError";
}

export interface TransportOptions {
  /** Extra CA (PEM) trusted besides the system's, as `--ca`/`TRUSTDOCK_CA` give it. */
  ca?: string;
  credentials?: RegistryCredentials;
}

export class RegistryTransport {
  private readonly agent: Agent;
  private readonly tokens = new Map<string, string>();
  /** Set once the registry asked for Basic authentication: every request then carries the credentials. */
  private basic = false;

  constructor(
    /** Where the registry API answers: `host:port`. */
    readonly host: string,
    private readonly options: TransportOptions = {},
  ) {
    this.agent = new Agent({
      keepAlive: true,
      ...(options.ca ? { ca: [...rootCertificates, options.ca] } : {}),
    });
  }

  close(): void {
    this.agent.destroy();
  }

  async send(req: RegistryRequest): Promise<RegistryReply> {
    const scope = `repository:${req.repository}:${req.action === "push" ? "pull,push" : "pull"}`;
    const url = new URL(req.path, `https://${this.host}`);
    const first = await this.exchange(url, req, this.authorization(scope));
    if (first.status !== 401) return first;
    const challenge = parseChallenge(header(first, "www-authenticate"));
    if (challenge?.scheme === "basic" && this.options.credentials) {
      this.basic = true;
      return this.exchange(url, req, this.authorization(scope));
    }
    if (challenge?.scheme !== "bearer" || !challenge.params.realm) return first;
    this.tokens.set(scope, await this.token(challenge.params, scope));
    return this.exchange(url, req, this.authorization(scope));
  }

  private authorization(scope: string): string | undefined {
    if (this.basic && this.options.credentials) return basicAuth(this.options.credentials);
    const token = this.tokens.get(scope);
    return token ? `Bearer ${token}` : undefined;
  }

  private async token(params: Record<string, string>, scope: string): Promise<string> {
    const realm = new URL(params.realm as string);
    if (realm.protocol !== "https:") throw new RegistryTransportError(`token realm ${realm} is not HTTPS`);
    if (params.service) realm.searchParams.set("service", params.service);
    realm.searchParams.set("scope", scope);
    const credentials = this.options.credentials;
    const reply = await this.raw(realm, "GET", credentials ? { authorization: basicAuth(credentials) } : {});
    if (reply.status === 401)
      throw new RegistryTransportError(
        `the token service of ${realm.host} refused ${credentials ? `the credentials of ${credentials.username}` : "anonymous access"} (401)`,
      );
    if (reply.status !== 200)
      throw new RegistryTransportError(`the token service of ${realm.host} answered ${reply.status}`);
    let body: { token?: unknown; access_token?: unknown };
    try {
      body = JSON.parse(reply.body.toString("utf8"));
    } catch {
      throw new RegistryTransportError(`the token service of ${realm.host} answered no JSON`);
    }
    const token = typeof body.token === "string" ? body.token : body.access_token;
    if (typeof token !== "string")
      throw new RegistryTransportError(`the token service of ${realm.host} gave no token`);
    return token;
  }

  /** One request, following redirects for reads (blob stores); credentials stay with the registry host. */
  private async exchange(
    url: URL,
    req: RegistryRequest,
    authorization: string | undefined,
  ): Promise<RegistryReply> {
    let target = url;
    for (let hops = 0; ; hops++) {
      const sameHost = target.host === this.host;
      const headers = { ...req.headers, ...(authorization && sameHost ? { authorization } : {}) };
      const reply = await this.raw(target, req.method, headers, req.body);
      const location = header(reply, "location");
      const redirected = [301, 302, 303, 307, 308].includes(reply.status);
      if (!redirected || !location || (req.method !== "GET" && req.method !== "HEAD")) return reply;
      if (hops >= MAX_REDIRECTS) throw new RegistryTransportError(`${this.host}: too many redirects`);
      target = new URL(location, target);
    }
  }

  private raw(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body?: Uint8Array,
  ): Promise<RegistryReply> {
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method,
        headers: { ...headers, ...(body ? { "content-length": String(body.byteLength) } : {}) },
        agent: this.agent,
        timeout: TIMEOUT_MS,
      });
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy(new RegistryTransportError(`${url.host} answered more than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), url }),
        );
        res.on("error", reject);
      });
      req.on("timeout", () =>
        req.destroy(new RegistryTransportError(`${url.host} did not answer within ${TIMEOUT_MS} ms`)),
      );
      req.on("error", (err) =>
        reject(
          err instanceof RegistryTransportError
            ? err
            : new RegistryTransportError(`${url.host}: ${err.message}`),
        ),
      );
      req.end(body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : undefined);
    });
  }
}

export function header(reply: { headers: RegistryReply["headers"] }, name: string): string | undefined {
  const value = reply.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function basicAuth(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}
