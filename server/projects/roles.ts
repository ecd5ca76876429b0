/** Harbor's project roles, by the IDs its API and database use. */
export type RoleId = 1 | 2 | 3 | 4;
export type RoleName = "projectAdmin" | "developer" | "guest" | "maintainer";

export const ROLE_NAMES: Readonly<Record<RoleId, RoleName>> = {
  1: "projectAdmin",
  2: "developer",
  3: "guest",
  4: "maintainer",
};

export const ROLES = {
  projectAdmin: 1,
  developer: 2,
  guest: 3,
  maintainer: 4,
} as const satisfies Record<RoleName, RoleId>;

export function isRoleId(value: unknown): value is RoleId {
  return value === 1 || value === 2 || value === 3 || value === 4;
}
