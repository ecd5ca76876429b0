import { createHash } from "node:crypto";
import { Agent } from "node:https";
import type { RegistryCredentials } from "../../core/admission/docker-config.js";
import type { RegistrySettings } from "../../core/admission/policy.js";
import { RegistryAnswerError, RegistryUnreachableError } from "../registry-client/errors.js";
import {
  header,
  RegistryHttpTransport,
  type TransportReply as Reply,
} from "../registry-client/registry-transport.js";

const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");
/** Manifests and trust files are small; a larger reply is a misbehaving registry, not data to hold. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Tokens are reused for a minute at most, whatever the token service grants, so a revoked grant stops soon. */
const MAX_TOKEN_LIFETIME_MS = 60_000;
/** How many redirects a blob read follows to its storage. */
const MAX_BLOB_REDIRECTS = 3;

export interface ResolvedManifest {
  digest: string;
  size: number;
}

/**
 * Reads manifests and Notary trust data over HTTPS the way docker does, through the shared token-flow
 * transport: every request is bound by the review's deadline (`signal`), and every failure is either
 * RegistryUnreachableError (the check could not be made) or RegistryAnswerError (the answer settles it),
 * so the admission check fails closed. Connections are kept alive per registry and CA, tokens cached
 * for their lifetime (a minute at most).
 */
export class AdmissionRegistryClient {
  private readonly agents = new Map<string, Agent>();
  private readonly http = new RegistryHttpTransport({
    agentFor: (host) => this.agentFor(host),
    maxBodyBytes: MAX_BODY_BYTES,
    maxTokenLifetimeMs: MAX_TOKEN_LIFETIME_MS,
  });

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
    const reply = await this.get(manifestGet(host, repository, reference), signal, credentials);
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
    return this.bytesOrNone(manifestGet(host, repository, reference), signal, credentials);
  }

  /** A blob's bytes (following the registry's redirect to its storage); undefined when it is missing. */
  async blob(
    host: string,
    repository: string,
    digest: string,
    signal: AbortSignal,
    credentials?: RegistryCredentials,
  ): Promise<Uint8Array | undefined> {
    // Storage on another host is asked without the registry's credentials, as docker does.
    const path = `/v2/${repository}/blobs/${digest}`;
    const get = {
      host,
      path,
      accept: "*/*",
      tokenKey: `repository ${repository}`,
      maxRedirects: MAX_BLOB_REDIRECTS,
    };
    return this.bytesOrNone(get, signal, credentials);
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
    return this.bytesOrNone(
      { host, path, accept: "application/json", tokenKey: `trust ${gun}` },
      signal,
      credentials,
    );
  }

  /** The body of a 200; undefined for a 404; any other answer fails. */
  private async bytesOrNone(
    get: RegistryGet,
    signal: AbortSignal,
    credentials?: RegistryCredentials,
  ): Promise<Uint8Array | undefined> {
    const reply = await this.get(get, signal, credentials);
    if (reply.status === 404) return undefined;
    if (reply.status !== 200) throw statusError(get.host, reply);
    return new Uint8Array(reply.body);
  }

  private async get(
    { host, path, accept, tokenKey, maxRedirects = 0 }: RegistryGet,
    signal: AbortSignal,
    credentials?: RegistryCredentials,
  ): Promise<Reply> {
    const configured = this.settingsFor(host);
    const settings =
      configured.username === undefined && credentials ? { ...configured, ...credentials } : configured;
    return this.http.send({
      method: "GET",
      url: new URL(`https://${host}${path}`),
      headers: { accept },
      credentials:
        settings.username === undefined
          ? undefined
          : { username: settings.username, password: settings.password },
      tokenKey,
      maxRedirects,
      signal,
    });
  }

  private agentFor(host: string): Agent {
    const settings = this.settingsFor(host);
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
}

/** One GET of the registry API. */
interface RegistryGet {
  host: string;
  path: string;
  accept: string;
  /** What a token is good for (a repository's pulls, a GUN's trust data), as docker keys it. */
  tokenKey: string;
  maxRedirects?: number;
}

function manifestGet(host: string, repository: string, reference: string): RegistryGet {
  const path = `/v2/${repository}/manifests/${reference}`;
  return { host, path, accept: MANIFEST_TYPES, tokenKey: `repository ${repository}` };
}

function statusError(host: string, reply: Reply): Error {
  const message = `the registry ${host} answered ${reply.status}`;
  return reply.status >= 500 ? new RegistryUnreachableError(message) : new RegistryAnswerError(message);
}
