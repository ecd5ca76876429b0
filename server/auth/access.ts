import { ROLES, type RoleId } from "../projects/roles.js";
import type { User } from "./users.js";

/**
 * What a token may do on a repository: distribution checks `pull`, `push` and `delete`; notary asks `*`
 * (every action) to delete a GUN's trust data.
 */
export type Action = "pull" | "push" | "delete" | "*";
export type ResourceType = "repository" | "registry";

/** What a scope or a token's access entry is about: a repository by name, or `registry:catalog`. */
export interface Resource {
  readonly type: ResourceType;
  readonly name: string;
}

/** One entry of a token's `access` claim, as the Docker token spec has it. */
export interface Access extends Resource {
  readonly actions: Action[];
}

const ACTIONS: ReadonlySet<string> = new Set<Action>(["pull", "push", "delete", "*"]);
const MAX_NAME_LENGTH = 255;
// distribution's reference grammar: a registry host[:port] (IPv6 in brackets) and lowercase path components.
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

export function isAction(value: unknown): value is Action {
  return typeof value === "string" && ACTIONS.has(value);
}

/**
 * The registry path of a repository name and its project. A notary GUN carries the registry host first
 * (`127.0.0.1:5000/library/app`), a registry request does not (`library/app`); as docker does, a first
 * component with `.` or `:`, or `localhost`, is a host and is dropped. Undefined for a malformed name.
 */
export function parseRepositoryName(name: string): { path: string; project: string } | undefined {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return undefined;
  const components = name.split("/");
  const first = components[0] ?? "";
  if (components.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    if (!HOST.test(first)) return undefined;
    components.shift();
  }
  if (!components.every((c) => PATH_COMPONENT.test(c))) return undefined;
  return { path: components.join("/"), project: components[0] ?? "" };
}

/**
 * `repository:<name>:<actions>` or `registry:catalog:*`; undefined (the scope is dropped, as Docker's
 * token servers do) for another type, a malformed name or no known action. The name may hold a `:port`,
 * so the type ends at the first colon and the actions start after the last.
 */
export function parseScope(scope: string): Access | undefined {
  const typeEnd = scope.indexOf(":");
  const actionsStart = scope.lastIndexOf(":");
  if (typeEnd < 0 || actionsStart === typeEnd) return undefined;
  const type = scope.slice(0, typeEnd);
  const name = scope.slice(typeEnd + 1, actionsStart);
  const actions = [
    ...new Set(
      scope
        .slice(actionsStart + 1)
        .split(",")
        .filter(isAction),
    ),
  ];
  if (actions.length === 0) return undefined;
  if (type === "repository" && parseRepositoryName(name)) return { type, name, actions };
  if (type === "registry" && name === "catalog" && actions.includes("*")) {
    return { type, name, actions: ["*"] };
  }
  return undefined;
}

/**
 * Every scope asked for: GET repeats the `scope` parameter, the OAuth2 POST form separates scopes with
 * spaces. Scopes naming the same resource are merged.
 */
export function parseScopes(values: readonly string[]): Access[] {
  const merged = new Map<string, Access>();
  for (const scope of values.flatMap((v) => v.split(/\s+/)).filter((s) => s.length > 0)) {
    const access = parseScope(scope);
    if (!access) continue;
    const key = `${access.type}:${access.name}`;
    const previous = merged.get(key);
    merged.set(
      key,
      previous ? { ...access, actions: [...new Set([...previous.actions, ...access.actions])] } : access,
    );
  }
  return [...merged.values()];
}

/** What a robot account may be given on the repositories of its project, as Harbor names it. */
export type RepositoryAction = "pull" | "push" | "delete";
const REPOSITORY_ACTIONS: readonly RepositoryAction[] = ["pull", "push", "delete"];

/** A robot account that authenticated: project-scoped, with the actions it was given there. */
export interface RobotIdentity {
  /** `robot$<project>+<name>`, what it logs in with and what tokens name as their subject. */
  readonly name: string;
  readonly projectId: number;
  readonly actions: readonly RepositoryAction[];
}

/** Who a request acts as. */
export type Principal =
  | { readonly kind: "anonymous" }
  | { readonly kind: "user"; readonly user: User }
  | { readonly kind: "robot"; readonly robot: RobotIdentity };

export const ANONYMOUS_PRINCIPAL: Principal = { kind: "anonymous" };

/** Checks HTTP Basic credentials of a user or a robot; undefined when they are wrong, expired or disabled. */
export type AuthenticateBasic = (username: string, password: string) => Promise<Principal | undefined>;

/** The name a principal acts under; undefined for anonymous. */
export function principalName(principal: Principal): string | undefined {
  if (principal.kind === "user") return principal.user.username;
  if (principal.kind === "robot") return principal.robot.name;
  return undefined;
}

/** What deciding needs to know of one project. */
export interface ProjectFacts {
  readonly id: number;
  readonly public: boolean;
  /** The role of the user it was looked up for, if they are a member. */
  readonly role?: RoleId;
}

export interface ProjectFactsSource {
  /** The project named, as seen by `userId` (none: nobody's role); undefined when there is no such project. */
  projectFacts(projectName: string, userId?: number): Promise<ProjectFacts | undefined>;
}

/** What the Harbor API lets one do to a project beyond its repositories. */
export type ProjectPermission = "read" | "list-members" | "administer";

/** Which projects a principal may list: all of them, or the public ones and those it belongs to. */
export type ProjectScope =
  | { readonly kind: "all" }
  | { readonly kind: "public"; readonly memberId?: number; readonly projectId?: number };

/** Whose audit entries a principal may read: every one, or those of the projects it administers. */
export type AuditScope =
  | { readonly kind: "all" }
  | { readonly kind: "administered"; readonly userId: number };

// Harbor's roles on repositories: a maintainer deletes (and so manages tags); only a project admin manages
// members and settings, which ProjectPermission covers.
const ROLE_ACTIONS: Readonly<Record<RoleId, readonly RepositoryAction[]>> = {
  [ROLES.guest]: ["pull"],
  [ROLES.developer]: ["pull", "push"],
  [ROLES.maintainer]: ["pull", "push", "delete"],
  [ROLES.projectAdmin]: ["pull", "push", "delete"],
};

/** The repository actions `principal` has in the project `facts` describes (undefined: no such project). */
function repositoryActions(
  principal: Principal,
  facts: ProjectFacts | undefined,
): ReadonlySet<RepositoryAction> {
  // A project that does not exist gives nothing to anyone, the admin included: nothing can be pushed
  // into a namespace nobody created.
  if (!facts) return new Set();
  const held = new Set<RepositoryAction>(facts.public ? ["pull"] : []);
  if (principal.kind === "user") {
    if (principal.user.isAdmin) return new Set(REPOSITORY_ACTIONS);
    for (const action of facts.role ? ROLE_ACTIONS[facts.role] : []) held.add(action);
  }
  if (principal.kind === "robot" && principal.robot.projectId === facts.id) {
    for (const action of principal.robot.actions) held.add(action);
  }
  return held;
}

/** What `principal` may do to the project itself through the Harbor API. */
export function projectPermissions(
  principal: Principal,
  facts: ProjectFacts | undefined,
): ReadonlySet<ProjectPermission> {
  if (!facts) return new Set();
  if (principal.kind === "user" && (principal.user.isAdmin || facts.role === ROLES.projectAdmin)) {
    return new Set(["read", "list-members", "administer"]);
  }
  if (principal.kind === "user" && facts.role !== undefined) return new Set(["read", "list-members"]);
  const readsRepositories = repositoryActions(principal, facts).has("pull");
  return new Set(readsRepositories ? ["read"] : []);
}

export function projectScope(principal: Principal): ProjectScope {
  if (principal.kind === "user") {
    return principal.user.isAdmin ? { kind: "all" } : { kind: "public", memberId: principal.user.id };
  }
  if (principal.kind === "robot") return { kind: "public", projectId: principal.robot.projectId };
  return { kind: "public" };
}

/** Undefined: no audit entries at all (anonymous and robots). */
export function auditScope(principal: Principal): AuditScope | undefined {
  if (principal.kind !== "user") return undefined;
  return principal.user.isAdmin ? { kind: "all" } : { kind: "administered", userId: principal.user.id };
}

/** Harbor's system administrator: the users table's `is_admin`. */
export function isSystemAdmin(principal: Principal): boolean {
  return principal.kind === "user" && principal.user.isAdmin;
}

/**
 * The one place that decides who may do what on repositories, from the projects in the database:
 * members by role, everyone pull on public projects, robots what they were given in their own project,
 * the system admin everything on projects that exist, and the catalog to the system admin only.
 */
export class AccessPolicy {
  constructor(private readonly projects: ProjectFactsSource) {}

  /** The actions of `requested` that `principal` may perform on `resource`. */
  async grantedActions(
    principal: Principal,
    resource: Resource,
    requested: readonly Action[],
  ): Promise<Action[]> {
    if (resource.type === "registry") return isSystemAdmin(principal) ? [...requested] : [];
    const repository = parseRepositoryName(resource.name);
    if (!repository) return [];
    const userId = principal.kind === "user" ? principal.user.id : undefined;
    const held = repositoryActions(principal, await this.projects.projectFacts(repository.project, userId));
    // `*` is every action, so it needs every one of them.
    const everything = REPOSITORY_ACTIONS.every((action) => held.has(action));
    return requested.filter((action) => (action === "*" ? everything : held.has(action)));
  }

  /** What a token for `principal` carries: each requested entry cut down to what is granted, empty ones left out. */
  async grantAccess(principal: Principal, requested: readonly Access[]): Promise<Access[]> {
    const granted = await Promise.all(
      requested.map(async (access) => ({
        ...access,
        actions: await this.grantedActions(principal, access, access.actions),
      })),
    );
    return granted.filter((access) => access.actions.length > 0);
  }

  /** What `principal` may do to the project named through the Harbor API. */
  async projectPermissions(
    principal: Principal,
    projectName: string,
  ): Promise<ReadonlySet<ProjectPermission>> {
    const userId = principal.kind === "user" ? principal.user.id : undefined;
    return projectPermissions(principal, await this.projects.projectFacts(projectName, userId));
  }
}

// A GUN and a registry path name the same repository: permissions belong to the path, not to the host
// the client happened to use.
function sameResource(a: Resource, b: Resource): boolean {
  if (a.type !== b.type) return false;
  if (a.type === "registry") return a.name === b.name;
  const pathA = parseRepositoryName(a.name)?.path;
  return pathA !== undefined && pathA === parseRepositoryName(b.name)?.path;
}

/** Whether `granted` (a token's access claim) covers every one of `actions` on `resource`; `*` covers all. */
export function allows(granted: readonly Access[], resource: Resource, actions: readonly Action[]): boolean {
  const held = new Set(granted.filter((g) => sameResource(g, resource)).flatMap((g) => g.actions));
  return held.has("*") || actions.every((action) => held.has(action));
}
