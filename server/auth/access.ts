import type { User } from "./users.js";

export type Action = "pull" | "push" | "*";
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

const ACTIONS: ReadonlySet<string> = new Set<Action>(["pull", "push", "*"]);
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

/**
 * The actions of `requested` that `user` (null: anonymous) may perform on `resource`. The one place that
 * decides who may do what: for now the admin may do anything and nobody else anything.
 */
export function grantedActions(
  user: User | null,
  resource: Resource,
  requested: readonly Action[],
): Action[] {
  const known = resource.type === "registry" || parseRepositoryName(resource.name) !== undefined;
  return user?.isAdmin && known ? [...requested] : [];
}

/** What a token for `user` carries: each requested entry cut down to what is granted, empty ones left out. */
export function grantAccess(user: User | null, requested: readonly Access[]): Access[] {
  return requested
    .map((access) => ({ ...access, actions: grantedActions(user, access, access.actions) }))
    .filter((access) => access.actions.length > 0);
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
