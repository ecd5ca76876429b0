import { isSystemAdmin, type Principal, type RepositoryAction } from "../../auth/access.js";
import { HarborError } from "../errors.js";
import type { Page } from "../page.js";
import { isStrongSecret } from "../robot-secrets.js";
import type { Robot } from "../robot-store.js";
import { actorName, refusal, requireUser } from "./caller.js";
import type { ApiDeps } from "./deps.js";
import { type PagingQuery, pagingOf, sendPageHeaders } from "./paging.js";
import { requireProject } from "./project-access.js";
import { ERRORS, OK } from "./responses.js";
import type { ApiRoute } from "./route.js";
import { ref } from "./schemas.js";

interface RobotPermission {
  kind: "project";
  namespace: string;
  access: { resource: "repository"; action: RepositoryAction }[];
}

interface RobotCreate {
  name: string;
  description?: string;
  level: "project";
  disable?: boolean;
  duration: number;
  permissions: [RobotPermission];
}

interface RobotUpdate {
  name?: string;
  description?: string;
  level?: "project";
  disable?: boolean;
  duration?: number;
  permissions?: [RobotPermission];
}

interface RobotPath {
  robot_id: number;
}

/** Harbor's Robot; the secret is never part of it. */
function robotView(robot: Robot) {
  return {
    id: robot.id,
    name: robot.fullName,
    description: robot.description,
    level: "project",
    duration: robot.duration,
    editable: true,
    disable: robot.disabled,
    expires_at: robot.expiresAt,
    permissions: [
      {
        kind: "project",
        namespace: robot.projectName,
        access: robot.actions.map((action) => ({ resource: "repository", action, effect: "allow" })),
      },
    ],
    creator_type: "local",
    ...(robot.creatorId === null ? {} : { creator_ref: robot.creatorId }),
    creation_time: robot.createdAt.toISOString(),
    update_time: robot.updatedAt.toISOString(),
  };
}

function actionsOf(permission: RobotPermission): RepositoryAction[] {
  return [...new Set(permission.access.map((access) => access.action))];
}

/**
 * Harbor's `q` for robots, exact matches only: `Level=project,ProjectID=<id>` (one project's robots) or
 * `Level=system` (system robots, of which Trustdock has none).
 */
function parseRobotQuery(q: string | undefined): { level?: string; projectId?: number } {
  const fields = new Map<string, string>();
  for (const part of (q ?? "").split(",").filter((p) => p.trim() !== "")) {
    const equals = part.indexOf("=");
    if (equals <= 0) throw new HarborError("BAD_REQUEST", `cannot read the query ${part}`);
    fields.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  const level = fields.get("Level");
  if (level !== undefined && level !== "project" && level !== "system") {
    throw new HarborError("BAD_REQUEST", `bad request error level input: ${level}`);
  }
  const projectId = fields.get("ProjectID");
  if (projectId !== undefined && !/^[1-9][0-9]{0,9}$/.test(projectId)) {
    throw new HarborError("BAD_REQUEST", "ProjectID must be a positive integer");
  }
  if (level === "project" && projectId === undefined) {
    throw new HarborError("BAD_REQUEST", "must with project ID when to query project robots");
  }
  return { ...(level ? { level } : {}), ...(projectId ? { projectId: Number(projectId) } : {}) };
}

/** Harbor's robot API for project robot accounts; a project's admins manage its robots. */
export function robotRoutes(deps: ApiDeps): ApiRoute[] {
  const common = { tag: "robot" } as const;
  /** The robot, if the caller administers its project. Harbor looks the robot up before checking access. */
  const administeredRobot = async (principal: Principal, id: number): Promise<Robot> => {
    requireUser(principal);
    const robot = await deps.robots.find(id);
    if (!robot) throw new HarborError("NOT_FOUND", `robot ${id} not found`);
    await requireProject(
      deps.policy,
      principal,
      await deps.projects.findByName(robot.projectName),
      "administer",
    );
    return robot;
  };
  const record = (principal: Principal, operation: "create" | "update" | "delete", robot: Robot) =>
    deps.audit.record({
      username: actorName(principal),
      operation,
      resourceType: "robot",
      resource: robot.fullName,
      project: robot.projectName,
    });

  const list: ApiRoute<unknown, PagingQuery & { q?: string }> = {
    ...common,
    method: "GET",
    url: "/robots",
    operationId: "ListRobot",
    summary:
      "List the robot accounts of a project (q=Level=project,ProjectID=<id>), or all for the system admin",
    querystring: ref("RobotListQuery"),
    responses: {
      200: {
        description: "Success",
        schema: { type: "array", items: ref("Robot") },
        headers: ["X-Total-Count", "Link"],
      },
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
    },
    async handle({ query, principal, request, reply }) {
      requireUser(principal);
      const { level, projectId } = parseRobotQuery(query.q);
      const paging = pagingOf(query);
      let page: Page<Robot>;
      if (projectId !== undefined) {
        const project = await deps.projects.findById(projectId);
        await requireProject(deps.policy, principal, project, "administer");
        page = await deps.robots.list({ projectId }, paging.request);
      } else if (!isSystemAdmin(principal)) {
        throw refusal(principal);
      } else {
        page = level === "system" ? { total: 0, items: [] } : await deps.robots.list({}, paging.request);
      }
      sendPageHeaders(request, reply, page.total, paging);
      return page.items.map(robotView);
    },
  };

  const create: ApiRoute<unknown, unknown, RobotCreate> = {
    ...common,
    method: "POST",
    url: "/robots",
    operationId: "CreateRobot",
    summary: "Create a project robot account; its secret is in this response and nowhere else, ever",
    body: ref("RobotCreate"),
    responses: {
      201: { description: "Created", schema: ref("RobotCreated"), headers: ["Location"] },
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
      409: ERRORS[409],
    },
    async handle({ body, principal, request, reply }) {
      const user = requireUser(principal);
      const [permission] = body.permissions;
      const project = await requireProject(
        deps.policy,
        principal,
        await deps.projects.findByName(permission.namespace),
        "administer",
      );
      const { robot, secret } = await deps.robots.create({
        projectId: project.id,
        name: body.name,
        description: body.description ?? "",
        actions: actionsOf(permission),
        duration: body.duration,
        disabled: body.disable ?? false,
        creatorId: user.id,
      });
      await record(principal, "create", robot);
      reply.code(201).header("Location", `${request.url.split("?")[0]?.replace(/\/$/, "")}/${robot.id}`);
      return {
        id: robot.id,
        name: robot.fullName,
        secret,
        creation_time: robot.createdAt.toISOString(),
        expires_at: robot.expiresAt,
      };
    },
  };

  const get: ApiRoute<RobotPath> = {
    ...common,
    method: "GET",
    url: "/robots/:robot_id",
    operationId: "GetRobotByID",
    summary: "Get a robot account",
    params: ref("RobotPath"),
    responses: {
      200: { description: "Return matched robot information.", schema: ref("Robot") },
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
    },
    async handle({ params, principal }) {
      return robotView(await administeredRobot(principal, params.robot_id));
    },
  };

  const update: ApiRoute<RobotPath, unknown, RobotUpdate> = {
    ...common,
    method: "PUT",
    url: "/robots/:robot_id",
    operationId: "UpdateRobot",
    summary: "Update a robot account's description, duration, disable status and permissions",
    params: ref("RobotPath"),
    body: ref("Robot"),
    responses: { 200: OK, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404] },
    async handle({ params, body, principal }) {
      const robot = await administeredRobot(principal, params.robot_id);
      if (body.name !== undefined && body.name !== robot.name && body.name !== robot.fullName) {
        throw new HarborError("BAD_REQUEST", "the name of a robot cannot change");
      }
      const [permission] = body.permissions ?? [];
      if (permission && permission.namespace !== robot.projectName) {
        throw new HarborError("BAD_REQUEST", `the robot belongs to project ${robot.projectName}`);
      }
      await deps.robots.update(robot.id, {
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.duration !== undefined ? { duration: body.duration } : {}),
        ...(body.disable !== undefined ? { disabled: body.disable } : {}),
        ...(permission ? { actions: actionsOf(permission) } : {}),
      });
      await record(principal, "update", robot);
      return undefined;
    },
  };

  const refresh: ApiRoute<RobotPath, unknown, { secret?: string }> = {
    ...common,
    method: "PATCH",
    url: "/robots/:robot_id",
    operationId: "RefreshSec",
    summary: "Replace the robot's secret with the one given, or a generated one, returned this once",
    params: ref("RobotPath"),
    body: ref("RobotSec"),
    responses: {
      200: { description: "Return refreshed robot sec.", schema: ref("RobotSec") },
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
    },
    async handle({ params, body, principal }) {
      const robot = await administeredRobot(principal, params.robot_id);
      if (body.secret !== undefined && !isStrongSecret(body.secret)) {
        throw new HarborError(
          "BAD_REQUEST",
          "the secret must be 8 to 128 characters long with at least one upper case letter, one lower case letter and one digit",
        );
      }
      const secret = await deps.robots.refreshSecret(robot.id, body.secret);
      await record(principal, "update", robot);
      return { secret };
    },
  };

  const remove: ApiRoute<RobotPath> = {
    ...common,
    method: "DELETE",
    url: "/robots/:robot_id",
    operationId: "DeleteRobot",
    summary: "Delete a robot account",
    params: ref("RobotPath"),
    responses: { 200: OK, 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404] },
    async handle({ params, principal }) {
      const robot = await administeredRobot(principal, params.robot_id);
      await deps.robots.delete(robot.id);
      await record(principal, "delete", robot);
      return undefined;
    },
  };

  return [list, create, get, update, refresh, remove];
}
