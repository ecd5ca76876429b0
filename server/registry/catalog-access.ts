import type { FastifyRequest } from "fastify";
import { type Access, allows } from "../auth/access.js";
import { AuthError } from "../auth/errors.js";

/** Who a request comes from, as the server authenticates it: a token's claims or a user; null for nobody. */
export type Caller = {
  readonly claims?: { readonly access: readonly Access[] } | undefined;
  readonly user?: { readonly isAdmin: boolean } | undefined;
} | null;

/**
 * The catalog spans every repository, so only the admin (by password, or by a token granting
 * `registry:catalog:*`) may list it.
 */
export function catalogAuthorizer(
  authenticate: (request: FastifyRequest) => Promise<Caller>,
  challenge: (request: FastifyRequest, scope: string) => string,
): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const who = await authenticate(request);
    if (who?.user?.isAdmin) return;
    if (who?.claims && allows(who.claims.access, { type: "registry", name: "catalog" }, ["*"])) return;
    throw new AuthError(
      who ? "DENIED" : "UNAUTHORIZED",
      "listing every repository is for administrators",
      challenge(request, "registry:catalog:*"),
    );
  };
}
