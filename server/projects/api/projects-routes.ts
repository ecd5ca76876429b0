import { type Principal, projectPermissions, projectScope } from "../../auth/access.js";
import { HarborError } from "../errors.js";
import { isPublic, type Project } from "../project-store.js";
import type { RoleId } from "../roles.js";
import { actorName, requireAuthenticated, requireUser } from "./caller.js";
import type { ApiDeps } from "./deps.js";
import { type PagingQuery, pagingOf, sendPageHeaders } from "./paging.js";
import {
  type NameHeader,
  type ProjectPath,
  recordProjectUpdate,
  requireCallProject,
} from "./project-access.js";
import { ERRORS, OK } from "./responses.js";
import type { ApiRoute } from "./route.js";
import { ref } from "./schemas.js";

interface ProjectReq {
  project_name?: string;
  public?: boolean | null;
  metadata?: Record<string, string>;
  registry_id?: number | null;
}

interface LocationHeader {
  "x-resource-name-in-location"?: boolean;
}

interface ProjectListQuery extends PagingQuery {
  name?: string;
  public?: boolean;
  owner?: string;
}

/** The metadata a request sets: `metadata` as given, and the deprecated top-level `public` if it does not. */
function requestedMetadata(req: ProjectReq): Record<string, string> {
  const metadata = { ...req.metadata };
  if (metadata.public === undefined && req.public !== undefined && req.public !== null) {
    metadata.public = String(req.public);
  }
  return metadata;
}

/** Harbor's Project, as `principal` sees it (its role in it and whether it may change it). */
async function projectView(deps: ApiDeps, principal: Principal, project: Project, role: RoleId | undefined) {
  const facts = { id: project.id, public: isPublic(project), ...(role ? { role } : {}) };
  const repositories = await deps.catalog.listRepositories(project, { offset: 0, limit: 1 });
  return {
    project_id: project.id,
    owner_id: project.ownerId ?? 0,
    name: project.name,
    creation_time: project.createdAt.toISOString(),
    update_time: project.updatedAt.toISOString(),
    deleted: false,
    owner_name: project.ownerName ?? "",
    togglable: projectPermissions(principal, facts).has("administer"),
    current_user_role_id: role ?? 0,
    current_user_role_ids: role ? [role] : [],
    repo_count: repositories.total,
    metadata: project.metadata,
  };
}

async function rolesOf(deps: ApiDeps, principal: Principal): Promise<Map<number, RoleId>> {
  return principal.kind === "user" ? deps.members.rolesOf(principal.user.id) : new Map();
}

export function projectRoutes(deps: ApiDeps): ApiRoute[] {
  const headProject: ApiRoute<unknown, { project_name: string }> = {
    method: "HEAD",
    url: "/projects",
    operationId: "headProject",
    summary: "Check if the project name user provided already exists.",
    tag: "project",
    querystring: ref("ProjectHeadQuery"),
    responses: { 200: { description: "The project exists." }, 401: ERRORS[401], 404: ERRORS[404] },
    async handle({ query, principal }) {
      requireAuthenticated(principal);
      if (!(await deps.projects.findByName(query.project_name))) {
        throw new HarborError("NOT_FOUND", `project ${query.project_name} not found`);
      }
      return undefined;
    },
  };

  const listProjects: ApiRoute<unknown, ProjectListQuery> = {
    method: "GET",
    url: "/projects",
    operationId: "listProjects",
    summary: "List the projects the caller may see: public ones, its own, all for the system admin.",
    tag: "project",
    querystring: ref("ProjectListQuery"),
    responses: {
      200: {
        description: "Return all matched projects.",
        schema: { type: "array", items: ref("Project") },
        headers: ["X-Total-Count", "Link"],
      },
      400: ERRORS[400],
      401: ERRORS[401],
    },
    async handle({ query, principal, request, reply }) {
      const paging = pagingOf(query);
      const page = await deps.projects.list(
        {
          scope: projectScope(principal),
          ...(query.name !== undefined ? { name: query.name } : {}),
          ...(query.public !== undefined ? { public: query.public } : {}),
          ...(query.owner !== undefined ? { owner: query.owner } : {}),
        },
        paging.request,
      );
      const roles = await rolesOf(deps, principal);
      sendPageHeaders(request, reply, page.total, paging);
      return Promise.all(page.items.map((p) => projectView(deps, principal, p, roles.get(p.id))));
    },
  };

  const createProject: ApiRoute<unknown, unknown, ProjectReq & { project_name: string }, LocationHeader> = {
    method: "POST",
    url: "/projects",
    operationId: "createProject",
    summary: "Create a new project; its creator becomes its project admin.",
    tag: "project",
    headers: ref("ProjectCreateHeaders"),
    body: { allOf: [ref("ProjectReq"), { type: "object", required: ["project_name"] }] },
    responses: {
      201: { description: "Created", headers: ["Location"] },
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      409: ERRORS[409],
    },
    async handle({ body, headers, principal, request, reply }) {
      const user = requireUser(principal);
      if (body.registry_id !== undefined && body.registry_id !== null) {
        throw new HarborError("BAD_REQUEST", "proxy cache projects are not supported");
      }
      const project = await deps.projects.create({
        name: body.project_name,
        ownerId: user.id,
        metadata: { public: "false", ...requestedMetadata(body) },
      });
      await deps.audit.record({
        username: user.username,
        operation: "create",
        resourceType: "project",
        resource: project.name,
      });
      const base = request.url.split("?")[0]?.replace(/\/$/, "");
      const name = headers["x-resource-name-in-location"] ? project.name : project.id;
      reply.code(201).header("Location", `${base}/${name}`);
      return undefined;
    },
  };

  const getProject: ApiRoute<ProjectPath, unknown, unknown, NameHeader> = {
    method: "GET",
    url: "/projects/:project_name_or_id",
    operationId: "getProject",
    summary: "Return specific project detail information",
    tag: "project",
    params: ref("ProjectPath"),
    headers: ref("ProjectNameHeaders"),
    responses: {
      200: { description: "Return matched project information.", schema: ref("Project") },
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
    },
    async handle(call) {
      const { principal } = call;
      const project = await requireCallProject(deps, call, "read");
      return projectView(deps, principal, project, (await rolesOf(deps, principal)).get(project.id));
    },
  };

  const updateProject: ApiRoute<ProjectPath, unknown, ProjectReq, NameHeader> = {
    method: "PUT",
    url: "/projects/:project_name_or_id",
    operationId: "updateProject",
    summary: "Update the metadata of a project (its name cannot change).",
    tag: "project",
    params: ref("ProjectPath"),
    headers: ref("ProjectNameHeaders"),
    body: ref("ProjectReq"),
    responses: { 200: OK, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404] },
    async handle(call) {
      const { body, principal } = call;
      const project = await requireCallProject(deps, call, "administer");
      await deps.projects.setMetadata(project.id, requestedMetadata(body));
      await recordProjectUpdate(deps.audit, principal, project);
      return undefined;
    },
  };

  const deleteProject: ApiRoute<ProjectPath, unknown, unknown, NameHeader> = {
    method: "DELETE",
    url: "/projects/:project_name_or_id",
    operationId: "deleteProject",
    summary: "Delete an empty project, with its members and robot accounts.",
    tag: "project",
    params: ref("ProjectPath"),
    headers: ref("ProjectNameHeaders"),
    responses: {
      200: OK,
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
      412: ERRORS[412],
    },
    async handle(call) {
      const { principal } = call;
      const project = await requireCallProject(deps, call, "administer");
      const repositories = await deps.catalog.listRepositories(project, { offset: 0, limit: 1 });
      if (repositories.total > 0) {
        throw new HarborError("PRECONDITION", "the project contains repositories, can not be deleted");
      }
      await deps.projects.delete(project.id);
      await deps.audit.record({
        username: actorName(principal),
        operation: "delete",
        resourceType: "project",
        resource: project.name,
      });
      return undefined;
    },
  };

  return [headProject, listProjects, createProject, getProject, updateProject, deleteProject];
}
