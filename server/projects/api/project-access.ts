import type { AccessPolicy, Principal, ProjectPermission } from "../../auth/access.js";
import { isSystemAdmin } from "../../auth/access.js";
import type { AuditLog } from "../audit-log.js";
import { HarborError } from "../errors.js";
import type { Project, ProjectStore } from "../project-store.js";
import { actorName, refusal } from "./caller.js";
import type { ApiCall } from "./route.js";

/** The path parameter of every `/projects/{project_name_or_id}...` operation. */
export interface ProjectPath {
  readonly project_name_or_id: string;
}

/** Harbor's header that makes `project_name_or_id` a name even when it reads as a number. */
export interface NameHeader {
  readonly "x-is-resource-name"?: boolean;
}

const ID = /^[0-9]+$/;

/**
 * The project a path parameter names. As Harbor: the header `X-Is-Resource-Name: true` makes it a name;
 * otherwise it is an ID when it reads as a number, a name when it does not.
 */
async function findProject(
  projects: ProjectStore,
  nameOrId: string,
  isResourceName: boolean | undefined,
): Promise<Project | undefined> {
  if (!isResourceName && ID.test(nameOrId)) {
    const id = Number(nameOrId);
    return Number.isSafeInteger(id) ? projects.findById(id) : undefined;
  }
  return projects.findByName(nameOrId);
}

/**
 * `project`, if `principal` holds `permission` on it. Refusals follow Harbor: a project the caller may
 * not see is 401 (anonymous) or 403 whether it exists or not, so nobody learns of private projects;
 * only the system admin is told 404.
 */
export async function requireProject(
  policy: Pick<AccessPolicy, "projectPermissions">,
  principal: Principal,
  project: Project | undefined,
  permission: ProjectPermission,
): Promise<Project> {
  if (!project) {
    if (isSystemAdmin(principal)) throw new HarborError("NOT_FOUND", "project not found");
    throw refusal(principal);
  }
  const permissions = await policy.projectPermissions(principal, project.name);
  if (!permissions.has(permission)) throw refusal(principal);
  return project;
}

/** The project of a `/projects/{project_name_or_id}...` call, if the caller holds `permission` on it. */
export async function requireCallProject(
  deps: { projects: ProjectStore; policy: Pick<AccessPolicy, "projectPermissions"> },
  { params, headers, principal }: ApiCall<ProjectPath, unknown, unknown, NameHeader>,
  permission: ProjectPermission,
): Promise<Project> {
  const found = await findProject(deps.projects, params.project_name_or_id, headers["x-is-resource-name"]);
  return requireProject(deps.policy, principal, found, permission);
}

/** The audit entry of a change to a project's settings (metadata, trusted keys), as Harbor writes it. */
export function recordProjectUpdate(audit: AuditLog, principal: Principal, project: Project): Promise<void> {
  return audit.record({
    username: actorName(principal),
    operation: "update",
    resourceType: "project",
    resource: project.name,
  });
}
