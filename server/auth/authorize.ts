import type { FastifyRequest } from "fastify";
import {
  type AccessPolicy,
  type Action,
  type AuthenticateBasic,
  allows,
  principalName,
  type Resource,
} from "./access.js";
import { parseAuthorization } from "./authorization-header.js";
import { AuthError, InvalidTokenError } from "./errors.js";
import { ANONYMOUS, type TokenClaims, type TokenService } from "./token-service.js";

export interface AuthorizerOptions {
  readonly tokenService: TokenService;
  /** Checks HTTP Basic credentials (a user's or a robot's), which some clients send instead of a token. */
  readonly authenticate: AuthenticateBasic;
  /** Decides for Basic credentials; a token carries what the policy granted when it was issued. */
  readonly policy: Pick<AccessPolicy, "grantedActions">;
  /** The token endpoint's URL as this request's client reaches it, e.g. `https://<Host>/service/token`. */
  readonly realm: (request: FastifyRequest) => string;
  readonly service: string;
}

/** Resolves with who acts if the request may perform every one of `actions` on the repository, else AuthError. */
export type Authorize = (
  request: FastifyRequest,
  repositoryName: string,
  actions: readonly Action[],
) => Promise<{ subject: string }>;

const MAX_DECISIONS_PER_TOKEN = 1000;

// RFC 7235 quoted-string: a name from the URL must not end the quotes early.
function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, "\\$&")}"`;
}

export function createAuthorizer(options: AuthorizerOptions): Authorize {
  const { tokenService, authenticate, policy, realm, service } = options;

  // A client sends the same token on every request, whose claims the token service hands back as the same
  // object: what they allow is worked out once per repository and actions, not on every pull.
  const decided = new WeakMap<TokenClaims, Map<string, boolean>>();
  const tokenAllows = (claims: TokenClaims, resource: Resource, actions: readonly Action[]) => {
    let byScope = decided.get(claims);
    if (!byScope || byScope.size >= MAX_DECISIONS_PER_TOKEN) {
      byScope = new Map();
      decided.set(claims, byScope);
    }
    const key = `${resource.name} ${actions.join(",")}`;
    let allowed = byScope.get(key);
    if (allowed === undefined) {
      allowed = allows(claims.access, resource, actions);
      byScope.set(key, allowed);
    }
    return allowed;
  };

  return async (request, repositoryName, actions) => {
    const resource: Resource = { type: "repository", name: repositoryName };
    // 401 makes docker fetch a token (again, with credentials if it has them); 403 tells a known user no.
    const refusal = (code: "UNAUTHORIZED" | "DENIED", message: string) => {
      const scope = `repository:${repositoryName}:${actions.join(",")}`;
      const challenge = `Bearer realm=${quote(realm(request))},service=${quote(service)},scope=${quote(scope)}`;
      return new AuthError(code, message, challenge, { ...resource, actions: [...actions] });
    };
    const unauthorized = (message: string) => refusal("UNAUTHORIZED", message);
    const denied = () => refusal("DENIED", "requested access to the resource is denied");

    const credentials = parseAuthorization(request.headers.authorization);
    switch (credentials.scheme) {
      case "none":
      case "malformed":
        throw unauthorized("authentication required");
      case "bearer": {
        let claims: TokenClaims;
        try {
          claims = tokenService.verify(credentials.token);
        } catch (err) {
          if (err instanceof InvalidTokenError) throw unauthorized(err.message);
          throw err;
        }
        if (tokenAllows(claims, resource, actions)) return { subject: claims.sub };
        throw claims.sub === ANONYMOUS ? unauthorized("authentication required") : denied();
      }
      case "basic": {
        const principal = await authenticate(credentials.username, credentials.password);
        if (!principal) throw unauthorized("authentication required");
        const granted = await policy.grantedActions(principal, resource, actions);
        if (allows([{ ...resource, actions: granted }], resource, actions)) {
          return { subject: principalName(principal) ?? ANONYMOUS };
        }
        throw denied();
      }
    }
  };
}
