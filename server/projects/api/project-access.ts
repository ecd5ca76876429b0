import type { AccessPolicy, Principal, ProjectPermission } from "../../auth/access.js";
import { isSystemAdmin } from "../../auth/access.js";
import { HarborError } from "../errors.js";
import type { Project, ProjectStore } from "../project-store.js";
import { refusal } from "./caller.js";

const ID = /^[0-9]+$/;

/**
 * The project a path parameter names. As Harbor: the header `X-Is-Resource-Name: true` makes it a name;
 * otherwise it is an ID when it reads as a number, a name when it does not.
 */
export async function findProject(
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
