import type { FastifyRequest } from "fastify";
import {
  ANONYMOUS_PRINCIPAL,
  type AuthenticateBasic,
  isSystemAdmin,
  type Principal,
  principalName,
} from "../../auth/access.js";
import { parseAuthorization } from "../../auth/authorization-header.js";
import type { User } from "../../auth/users.js";
import { HarborError } from "../errors.js";

/** Who calls the API: anonymous without credentials, else the user or robot whose Basic credentials these are. */
export async function callerOf(request: FastifyRequest, authenticate: AuthenticateBasic): Promise<Principal> {
  const credentials = parseAuthorization(request.headers.authorization);
  if (credentials.scheme === "none") return ANONYMOUS_PRINCIPAL;
  if (credentials.scheme !== "basic") {
    throw new HarborError("UNAUTHORIZED", "the API takes HTTP Basic credentials or none");
  }
  const principal = await authenticate(credentials.username, credentials.password);
  if (!principal) throw new HarborError("UNAUTHORIZED", "invalid credentials");
  return principal;
}

/** What the audit log records as the actor. */
export function actorName(principal: Principal): string {
  return principalName(principal) ?? "anonymous";
}

/** 401 for anonymous; users and robot accounts pass. */
export function requireAuthenticated(
  principal: Principal,
): asserts principal is Exclude<Principal, { kind: "anonymous" }> {
  if (principal.kind === "anonymous") throw new HarborError("UNAUTHORIZED", "authentication required");
}

/** The calling user; 401 for anonymous, 403 for a robot account (which Harbor keeps off user operations). */
export function requireUser(principal: Principal): User {
  if (principal.kind === "user") return principal.user;
  if (principal.kind === "anonymous") throw new HarborError("UNAUTHORIZED", "authentication required");
  throw new HarborError("FORBIDDEN", "robot accounts may not do this");
}

export function requireSystemAdmin(principal: Principal): User {
  const user = requireUser(principal);
  if (!isSystemAdmin(principal)) throw new HarborError("FORBIDDEN", "only the system admin may do this");
  return user;
}

/** 401 for anonymous, 403 for anyone else: how Harbor refuses what the caller may not do. */
export function refusal(principal: Principal): HarborError {
  return principal.kind === "anonymous"
    ? new HarborError("UNAUTHORIZED", "authentication required")
    : new HarborError("FORBIDDEN", "forbidden");
}
