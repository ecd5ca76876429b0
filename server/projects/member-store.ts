import type { Queryable } from "../storage/db.js";
import { HarborError, isUniqueViolation } from "./errors.js";
import type { Page, PageRequest } from "./page.js";
import { isRoleId, type RoleId } from "./roles.js";
import { containsPattern, SqlParams } from "./sql-params.js";

/** A user's membership of a project (Harbor's user members; there are no groups). */
export interface Member {
  readonly id: number;
  readonly projectId: number;
  readonly userId: number;
  readonly username: string;
  readonly roleId: RoleId;
}

interface MemberRow {
  id: number;
  project_id: number;
  user_id: number;
  username: string;
  role_id: number;
}

function toMember(row: MemberRow): Member {
  if (!isRoleId(row.role_id)) throw new Error(`member ${row.id} has role ${row.role_id}, which is no role`);
  return {
    id: row.id,
    projectId: row.project_id,
    userId: row.user_id,
    username: row.username,
    roleId: row.role_id,
  };
}

const SELECT_MEMBER = `
  SELECT pm.id, pm.project_id, pm.user_id, u.username, pm.role_id
  FROM project_members pm JOIN users u ON u.id = pm.user_id`;

export class MemberStore {
  constructor(private readonly db: Queryable) {}

  /** Sorted by username; `username` filters on part of it. */
  async list(projectId: number, filter: { username?: string }, page: PageRequest): Promise<Page<Member>> {
    const params = new SqlParams();
    const where = [`pm.project_id = ${params.add(projectId)}`];
    if (filter.username !== undefined)
      where.push(`u.username LIKE ${params.add(containsPattern(filter.username))}`);
    const condition = `WHERE ${where.join(" AND ")}`;
    const [count] = await this.db.query<{ total: number }>(
      `SELECT count(*)::integer AS total FROM project_members pm JOIN users u ON u.id = pm.user_id ${condition}`,
      params.values,
    );
    const rows = await this.db.query<MemberRow>(
      `${SELECT_MEMBER} ${condition} ORDER BY u.username
       LIMIT ${params.add(page.limit)} OFFSET ${params.add(page.offset)}`,
      params.values,
    );
    return { total: count?.total ?? 0, items: rows.map(toMember) };
  }

  async get(projectId: number, memberId: number): Promise<Member | undefined> {
    const [row] = await this.db.query<MemberRow>(`${SELECT_MEMBER} WHERE pm.project_id = $1 AND pm.id = $2`, [
      projectId,
      memberId,
    ]);
    return row && toMember(row);
  }

  async add(projectId: number, user: { id: number; username: string }, roleId: RoleId): Promise<Member> {
    try {
      const [row] = await this.db.query<{ id: number }>(
        "INSERT INTO project_members (project_id, user_id, role_id) VALUES ($1, $2, $3) RETURNING id",
        [projectId, user.id, roleId],
      );
      if (!row) throw new Error("INSERT ... RETURNING returned no row");
      return { id: row.id, projectId, userId: user.id, username: user.username, roleId };
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new HarborError("CONFLICT", `${user.username} is already a member of the project`);
      }
      throw err;
    }
  }

  /** False when the project has no such member. */
  async setRole(projectId: number, memberId: number, roleId: RoleId): Promise<boolean> {
    const rows = await this.db.query(
      "UPDATE project_members SET role_id = $3, updated_at = now() WHERE project_id = $1 AND id = $2 RETURNING id",
      [projectId, memberId, roleId],
    );
    return rows.length > 0;
  }

  /** False when the project had no such member. */
  async remove(projectId: number, memberId: number): Promise<boolean> {
    const rows = await this.db.query(
      "DELETE FROM project_members WHERE project_id = $1 AND id = $2 RETURNING id",
      [projectId, memberId],
    );
    return rows.length > 0;
  }

  /** The user's role in each project they belong to, by project ID. */
  async rolesOf(userId: number): Promise<Map<number, RoleId>> {
    const rows = await this.db.query<{ project_id: number; role_id: number }>(
      "SELECT project_id, role_id FROM project_members WHERE user_id = $1",
      [userId],
    );
    return new Map(
      rows.flatMap((row) => (isRoleId(row.role_id) ? [[row.project_id, row.role_id] as const] : [])),
    );
  }
}
