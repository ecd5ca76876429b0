import type { RepositoryAction, RobotIdentity } from "../auth/access.js";
import { hashPassword, verifyPassword } from "../auth/passwords.js";
import type { Queryable } from "../storage/db.js";
import { HarborError, isUniqueViolation } from "./errors.js";
import type { Page, PageRequest } from "./page.js";
import { parseRobotName, robotFullName } from "./robot-names.js";
import { generateRobotSecret } from "./robot-secrets.js";
import { SqlParams } from "./sql-params.js";

/** Never expires: Harbor's duration and expires_at both say so with -1. */
const NEVER = -1;
const DAY_SECONDS = 86_400;

/** A project-level robot account. Its secret is not here: it is shown once, at creation or refresh. */
export interface Robot {
  readonly id: number;
  readonly projectId: number;
  readonly projectName: string;
  /** The short name it was created with; `fullName` is the one it logs in with. */
  readonly name: string;
  readonly fullName: string;
  readonly description: string;
  readonly actions: readonly RepositoryAction[];
  /** Days from creation, or NEVER. */
  readonly duration: number;
  /** Unix seconds, or NEVER. */
  readonly expiresAt: number;
  readonly disabled: boolean;
  readonly creatorId: number | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface NewRobot {
  readonly projectId: number;
  readonly name: string;
  readonly description: string;
  readonly actions: readonly RepositoryAction[];
  readonly duration: number;
  readonly disabled: boolean;
  readonly creatorId: number | null;
}

export interface RobotChanges {
  readonly description?: string;
  readonly actions?: readonly RepositoryAction[];
  readonly duration?: number;
  readonly disabled?: boolean;
}

interface RobotRow {
  id: number;
  project_id: number;
  project_name: string;
  name: string;
  description: string;
  secret_hash: string;
  actions: string[];
  duration: number;
  disabled: boolean;
  creator_id: number | null;
  created_at: Date;
  updated_at: Date;
}

const SELECT_ROBOT = `
  SELECT r.*, p.name AS project_name FROM robots r JOIN projects p ON p.id = r.project_id`;

function isRepositoryAction(value: string): value is RepositoryAction {
  return value === "pull" || value === "push" || value === "delete";
}

function toRobot(row: RobotRow): Robot {
  return {
    id: row.id,
    projectId: row.project_id,
    projectName: row.project_name,
    name: row.name,
    fullName: robotFullName(row.project_name, row.name),
    description: row.description,
    actions: row.actions.filter(isRepositoryAction),
    duration: row.duration,
    expiresAt:
      row.duration === NEVER
        ? NEVER
        : Math.floor(row.created_at.getTime() / 1000) + row.duration * DAY_SECONDS,
    disabled: row.disabled,
    creatorId: row.creator_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function isExpired(robot: Robot, now: number = Date.now()): boolean {
  return robot.expiresAt !== NEVER && robot.expiresAt * 1000 <= now;
}

export class RobotStore {
  // Checked against when the robot does not exist, so that a wrong name costs as long as a wrong secret.
  private decoy: Promise<string> | undefined;

  constructor(private readonly db: Queryable) {}

  /** The new robot and its secret, which is kept hashed only: this is the one time anyone sees it. */
  async create(robot: NewRobot): Promise<{ robot: Robot; secret: string }> {
    const secret = generateRobotSecret();
    const id = await this.insert(robot, await hashPassword(secret));
    const created = await this.find(id);
    if (!created) throw new Error(`robot ${id} vanished right after it was created`);
    return { robot: created, secret };
  }

  private async insert(robot: NewRobot, secretHash: string): Promise<number> {
    try {
      const [row] = await this.db.query<{ id: number }>(
        `INSERT INTO robots (project_id, name, description, secret_hash, actions, duration, disabled, creator_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
        [
          robot.projectId,
          robot.name,
          robot.description,
          secretHash,
          [...robot.actions],
          robot.duration,
          robot.disabled,
          robot.creatorId,
        ],
      );
      if (!row) throw new Error("INSERT ... RETURNING returned no row");
      return row.id;
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new HarborError("CONFLICT", `the project already has a robot account named ${robot.name}`);
      }
      throw err;
    }
  }

  async find(id: number): Promise<Robot | undefined> {
    const [row] = await this.db.query<RobotRow>(`${SELECT_ROBOT} WHERE r.id = $1`, [id]);
    return row && toRobot(row);
  }

  /** Every robot, or those of one project; newest first. */
  async list(filter: { projectId?: number }, page: PageRequest): Promise<Page<Robot>> {
    const params = new SqlParams();
    const condition =
      filter.projectId === undefined ? "" : `WHERE r.project_id = ${params.add(filter.projectId)}`;
    const [count] = await this.db.query<{ total: number }>(
      `SELECT count(*)::integer AS total FROM robots r ${condition}`,
      params.values,
    );
    const rows = await this.db.query<RobotRow>(
      `${SELECT_ROBOT} ${condition} ORDER BY r.id DESC
       LIMIT ${params.add(page.limit)} OFFSET ${params.add(page.offset)}`,
      params.values,
    );
    return { total: count?.total ?? 0, items: rows.map(toRobot) };
  }

  /** False when there is no such robot. */
  async update(id: number, changes: RobotChanges): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE robots SET
         description = coalesce($2, description),
         actions = coalesce($3, actions),
         duration = coalesce($4, duration),
         disabled = coalesce($5, disabled),
         updated_at = now()
       WHERE id = $1 RETURNING id`,
      [
        id,
        changes.description ?? null,
        changes.actions ? [...changes.actions] : null,
        changes.duration ?? null,
        changes.disabled ?? null,
      ],
    );
    return rows.length > 0;
  }

  /** Replaces the robot's secret with `secret`, or a generated one; the new secret, or undefined (no robot). */
  async refreshSecret(id: number, secret: string = generateRobotSecret()): Promise<string | undefined> {
    const rows = await this.db.query(
      "UPDATE robots SET secret_hash = $2, updated_at = now() WHERE id = $1 RETURNING id",
      [id, await hashPassword(secret)],
    );
    return rows.length > 0 ? secret : undefined;
  }

  /** False when there was no such robot. */
  async delete(id: number): Promise<boolean> {
    const rows = await this.db.query("DELETE FROM robots WHERE id = $1 RETURNING id", [id]);
    return rows.length > 0;
  }

  /** Who logs in with this robot name and secret; undefined if they are wrong or the robot is disabled or expired. */
  async authenticate(fullName: string, secret: string): Promise<RobotIdentity | undefined> {
    const parsed = parseRobotName(fullName);
    if (!parsed) return undefined;
    const [row] = await this.db.query<RobotRow>(`${SELECT_ROBOT} WHERE p.name = $1 AND r.name = $2`, [
      parsed.projectName,
      parsed.name,
    ]);
    if (!row) {
      this.decoy ??= hashPassword(generateRobotSecret());
      await verifyPassword(secret, await this.decoy);
      return undefined;
    }
    if (!(await verifyPassword(secret, row.secret_hash))) return undefined;
    const robot = toRobot(row);
    if (robot.disabled || isExpired(robot)) return undefined;
    return { name: robot.fullName, projectId: robot.projectId, actions: robot.actions };
  }
}
