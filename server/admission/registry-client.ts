import { createHash } from "node:crypto";
import { Agent, request } from "node:https";
import type { RegistryCredentials } from "../../core/admission/docker-config.js";
import type { RegistrySettings } from "../../core/admission/policy.js";

const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const MAX_TOKEN_LIFETIME_MS = 60_000;

/** The registry could not be asked (refused, reset, timed out, 5xx): a check that could not be made. */
export class RegistryUnreachableError extends Error {
  override readonly name = "RegistryUnreachableError";
}

/** The registry answered, and the answer settles it (no such tag, access refused, bad digest). */
export class RegistryAnswerError extends Error {
  override readonly name = "RegistryAnswerError";
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ResolvedManifest {
  digest: string;
  size: number;
}

/**
 * Reads manifests and Notary trust data over HTTPS the way docker does: an anonymous request first, and
 * on a `Bearer` challenge a token from its realm (with the registry's credentials when there are any).
 * Connections are kept alive per registry, tokens cached for their lifetime (a minute at most).
 */
export class AdmissionRegistryClient {
  private readonly agents = new Map<string, Agent>();
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();

  constructor(private readonly settingsFor: (host: string) => RegistrySettings) {}

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  /**
   * The digest and size of the manifest `reference` names, hashed from the bytes served. `credentials`
   * (from a pull secret) apply when the policy gives none for the registry.
   */
  async resolveManifest(
    host: string,
    repository: string,
    reference: string,
    signal: AbortSignal,
    credentials?: RegistryCredentials,
  ): Promise<ResolvedManifest> {
    const path = `/v2/${repository}/manifests/${reference}`;
    const reply = await this.get(host, path, MANIFEST_TYPES, `repository ${repository}`, signal, credentials);
    if (reply.status === 404)
      throw new RegistryAnswerError(`${host}/${repository}:${reference} is not in the registry`);
    if (reply.status !== 200) throw statusError(host, reply);
    const digest = `sha256:${createHash("sha256").update(reply.body).digest("hex")}`;
    const claimed = header(reply, "docker-content-digest");
    if (claimed?.startsWith("sha256:") && claimed !== digest)
      throw new RegistryAnswerError(
        `${host} served a manifest whose digest is not the ${claimed} it claimed`,
      );
    return { digest, size: reply.body.length };
  }

  /** The bytes of the manifest `reference` names; undefined when the registry has none. */
  async manifestBytes(
    host: string,
    repository: string,
    reference: string,
    signal: AbortSignal,
    credentials?: RegistryCredentials,
  ): Promise<Uint8Array | undefined> {
    const path = `/v2/${repository}/manifests/${reference}`;
    const reply = await this.get(host, path, MANIFEST_TYPES, `repository ${repository}`, signal, credentials);
    if (reply.status === 404) return undefined;
    if (reply.status !== 200) throw statusError(host, reply);
    return new Uint8Array(reply.body);
  }

  /** A blob's bytes (following the registry's redirect to its storage); undefined when it is missing. */
  async blob(
    host: string,
    repository: string,
    digest: string,
    signal: AbortSignal,
    credentials?: RegistryCredentials,
  ): Promise<Uint8Array | undefined> {
    const path = `/v2/${repository}/blobs/${digest}`;
    let reply = await this.get(host, path, "*/*", `repository ${repository}`, signal, credentials);
    for (let hops = 0; hops < 3 && [301, 302, 303, 307, 308].includes(reply.status); hops++) {
      const location = header(reply, "location");
      if (!location) break;
      // Storage behind a redirect is asked without the registry's credentials, as docker does.
      const target = new URL(location, `https://${host}${path}`);
      if (target.protocol !== "https:")
        throw new RegistryAnswerError(`${host} redirected a blob to ${target.protocol}`);
      reply = await this.send(target, {}, this.settingsFor(target.host), signal);
    }
    if (reply.status === 404) return undefined;
    if (reply.status !== 200) throw statusError(host, reply);
    return new Uint8Array(reply.body);
  }

  /** One role's current trust data from the Notary server at `host`; undefined when there is none. */
  async trustFile(
    host: string,
    gun: string,
    role: string,
    signal: AbortSignal,
    credentials?: RegistryCredentials,
  ): Promise<Uint8Array | undefined> {
    const path = `/v2/${gun}/_trust/tuf/${role}.json`;
    const reply = await this.get(host, path, "application/json", `trust ${gun}`, signal, credentials);
    if (reply.status === 404) return undefined;
    if (reply.status !== 200) throw statusError(host, reply);
    return new Uint8Array(reply.body);
  }

  /** `tokenKey` names what a token is good for (a repository's pulls, a GUN's trust data), as docker keys it. */
  private async get(
    host: string,
    path: string,
    accept: string,
    tokenKey: string,
    signal: AbortSignal,
    credentials?: RegistryCredentials,
  ): Promise<Reply> {
    const configured = this.settingsFor(host);
    const settings =
      configured.username === undefined && credentials ? { ...configured, ...credentials } : configured;
    const url = new URL(`https://${host}${path}`);
    const key = `${host} ${settings.username ?? ""} ${tokenKey}`;
    const cached = this.tokens.get(key);
    const valid = cached && cached.expiresAt > Date.now() ? cached.token : undefined;
    const first = await this.send(url, { accept, ...authHeader(valid) }, settings, signal);
    if (first.status !== 401) return first;
    const challenge = parseChallenge(header(first, "www-authenticate"));
    if (challenge?.scheme === "basic" && settings.username !== undefined)
      return this.send(url, { accept, authorization: basic(settings) }, settings, signal);
    if (challenge?.scheme !== "bearer" || !challenge.params.realm) return first;
    const token = await this.token(challenge.params, settings, signal);
    this.tokens.set(key, token);
    if (this.tokens.size > 10_000) this.tokens.clear();
    return this.send(url, { accept, ...authHeader(token.token) }, settings, signal);
  }

  private async token(
    params: Record<string, string>,
    settings: RegistrySettings,
    signal: AbortSignal,
  ): Promise<{ token: string; expiresAt: number }> {
    const realm = new URL(params.realm as string);
    if (realm.protocol !== "https:") throw new RegistryAnswerError(`token realm ${realm} is not HTTPS`);
    if (params.service) realm.searchParams.set("service", params.service);
    if (params.scope) realm.searchParams.set("scope", params.scope);
    const headers: Record<string, string> = {};
    if (settings.username !== undefined) headers.authorization = basic(settings);
    const reply = await this.send(realm, headers, this.settingsFor(realm.host), signal);
    if (reply.status !== 200) throw statusError(realm.host, reply, "token service");
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(reply.body.toString("utf8"));
    } catch {
      throw new RegistryAnswerError(`the token service of ${realm.host} answered no JSON`);
    }
    const token = typeof body.token === "string" ? body.token : body.access_token;
    if (typeof token !== "string")
      throw new RegistryAnswerError(`the token service of ${realm.host} gave no token`);
    const lifetime = typeof body.expires_in === "number" ? body.expires_in * 1000 : MAX_TOKEN_LIFETIME_MS;
    // Kept a little short of its lifetime so it is not used as it expires.
    return { token, expiresAt: Date.now() + Math.min(lifetime * 0.9, MAX_TOKEN_LIFETIME_MS) };
  }

  private agentFor(host: string, settings: RegistrySettings): Agent {
    // Keyed by the CA too: a policy edit that changes a registry's CA gets connections that use it.
    const key = `${host} ${settings.ca ?? ""}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new Agent({
        keepAlive: true,
        maxSockets: 64,
        // A registry's own CA replaces the system's, as node's `ca` does; given once per agent, not per request.
        ...(settings.ca ? { ca: settings.ca } : {}),
      });
      this.agents.set(key, agent);
    }
    return agent;
  }

  private send(
    url: URL,
    headers: Record<string, string>,
    settings: RegistrySettings,
    signal: AbortSignal,
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      if (signal.aborted)
        return reject(new RegistryUnreachableError(`${url.host} was not asked: out of time`));
      const req = request(url, { method: "GET", headers, agent: this.agentFor(url.host, settings), signal });
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy(new RegistryAnswerError(`${url.host} answered more than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", (err) => reject(unreachable(url, err, signal)));
      });
      req.on("error", (err) => reject(unreachable(url, err, signal)));
      req.end();
    });
  }
}

function unreachable(url: URL, err: Error, signal: AbortSignal): Error {
  if (err instanceof RegistryAnswerError) return err;
  if (signal.aborted) return new RegistryUnreachableError(`${url.host} did not answer in time`);
  return new RegistryUnreachableError(`${url.host} is unreachable: ${err.message}`);
}

function statusError(host: string, reply: Reply, what = "registry"): Error {
  const message = `the ${what} ${host} answered ${reply.status}`;
  return reply.status >= 500 ? new RegistryUnreachableError(message) : new RegistryAnswerError(message);
}

function header(reply: Reply, name: string): string | undefined {
  const value = reply.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function authHeader(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

function basic(settings: RegistrySettings): string {
  return `Basic ${Buffer.from(`${settings.username ?? ""}:${settings.password ?? ""}`).toString("base64")}`;
}

/** `Bearer realm="...",service="...",scope="..."` into its scheme and parameters. */
export function parseChallenge(
  value: string | undefined,
): { scheme: string; params: Record<string, string> } | undefined {
  const match = value ? /^\s*(\w+)\s*(.*)$/.exec(value) : null;
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const param of (match[2] ?? "").matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[(param[1] as string).toLowerCase()] = (param[2] ?? param[3] ?? "").replace(/\\(.)/g, "$1");
  }
  return { scheme: (match[1] as string).toLowerCase(), params };
}
