import { HarborError } from "../errors.js";
import type { NewUser, UserProfile } from "../user-directory.js";
import { actorName, requireAuthenticated, requireSystemAdmin } from "./caller.js";
import type { ApiDeps } from "./deps.js";
import { ERRORS } from "./responses.js";
import type { ApiRoute } from "./route.js";
import { ref } from "./schemas.js";

/** Harbor's UserResp. */
function userView(user: UserProfile) {
  const created = user.createdAt.toISOString();
  return {
    user_id: user.id,
    username: user.username,
    email: user.email,
    realname: user.realname,
    comment: user.comment,
    sysadmin_flag: user.isAdmin,
    admin_role_in_auth: false,
    creation_time: created,
    update_time: created,
  };
}

/** Local users: the system admin creates them; anyone signed in reads their own profile. */
export function userRoutes(deps: ApiDeps): ApiRoute[] {
  const create: ApiRoute<unknown, unknown, NewUser> = {
    method: "POST",
    url: "/users",
    operationId: "createUser",
    summary: "Create a local user (system admin only).",
    tag: "user",
    body: ref("UserCreationReq"),
    responses: {
      201: { description: "Created", headers: ["Location"] },
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      409: ERRORS[409],
    },
    async handle({ body, principal, request, reply }) {
      requireSystemAdmin(principal);
      const user = await deps.users.create(body);
      await deps.audit.record({
        username: actorName(principal),
        operation: "create",
        resourceType: "user",
        resource: user.username,
      });
      reply.code(201).header("Location", `${request.url.split("?")[0]?.replace(/\/$/, "")}/${user.id}`);
      return undefined;
    },
  };

  const current: ApiRoute = {
    method: "GET",
    url: "/users/current",
    operationId: "getCurrentUserInfo",
    summary: "Get the profile of the user whose credentials these are; robot accounts have none (412).",
    tag: "user",
    responses: {
      200: { description: "Get current user information successfully.", schema: ref("UserResp") },
      401: ERRORS[401],
      412: ERRORS[412],
    },
    async handle({ principal }) {
      requireAuthenticated(principal);
      if (principal.kind === "robot") {
        throw new HarborError("PRECONDITION", "a robot account has no user profile");
      }
      const user = await deps.users.findById(principal.user.id);
      if (!user) throw new HarborError("UNAUTHORIZED", "the user no longer exists");
      return userView(user);
    },
  };

  return [create, current];
}
