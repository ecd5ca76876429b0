/**
 * The CLI's view of one registry: requests name a path and the repository and action they need, and the
 * shared token-flow transport does the rest. Its errors become RegistryTransportError, which the CLI's
 * commands print as they are.
 */
import { Agent } from "node:https";
import { rootCertificates } from "node:tls";
import type { RegistryCredentials } from "../../core/admission/docker-config.js";
import { TokenRefusedError } from "../../server/registry-client/errors.js";
import {
  RegistryHttpTransport,
  type TransportReply,
} from "../../server/registry-client/registry-transport.js";

/** A socket silent this long fails the request: the CLI has no deadline of its own. */
const IDLE_TIMEOUT_MS = 30_000;
/** Signature manifests and layers the CLI reads are small; this only stops a runaway reply. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Blob reads may pass through a CDN or two before reaching storage. */
const MAX_REDIRECTS = 5;

export { header } from "../../server/registry-client/registry-transport.js";

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

export type RegistryReply = TransportReply;

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
  private readonly http: RegistryHttpTransport;

  constructor(
    /** Where the registry API answers: `host:port`. */
    readonly host: string,
    private readonly options: TransportOptions = {},
  ) {
    this.agent = new Agent({
      keepAlive: true,
      ...(options.ca ? { ca: [...rootCertificates, options.ca] } : {}),
    });
    this.http = new RegistryHttpTransport({
      agentFor: () => this.agent,
      maxBodyBytes: MAX_BODY_BYTES,
      idleTimeoutMs: IDLE_TIMEOUT_MS,
    });
  }

  close(): void {
    this.agent.destroy();
  }

  async send(req: RegistryRequest): Promise<RegistryReply> {
    // Asked for ourselves rather than taken from the challenge: a push needs pull too (mounts, HEADs).
    const scope = `repository:${req.repository}:${req.action === "push" ? "pull,push" : "pull"}`;
    try {
      return await this.http.send({
        method: req.method,
        url: new URL(req.path, `https://${this.host}`),
        ...(req.headers ? { headers: req.headers } : {}),
        ...(req.body ? { body: req.body } : {}),
        credentials: this.options.credentials,
        tokenKey: scope,
        scope,
        maxRedirects: MAX_REDIRECTS,
      });
    } catch (err) {
      throw new RegistryTransportError(this.describe(err));
    }
  }

  private describe(err: unknown): string {
    if (err instanceof TokenRefusedError) {
      const who = this.options.credentials;
      return `the token service of ${err.tokenHost} refused ${who ? `the credentials of ${who.username}` : "anonymous access"} (401)`;
    }
    return err instanceof Error ? err.message : String(err);
  }
}
