import type { ProjectFacts, ProjectFactsSource, ProjectScope } from "../auth/access.js";
import type { Db, Queryable } from "../storage/db.js";
import { HarborError, isUniqueViolation } from "./errors.js";
import type { Page, PageRequest } from "./page.js";
import { isRoleId, ROLES } from "./roles.js";
import { containsPattern, SqlParams } from "./sql-params.js";

export interface Project {
  readonly id: number;
  readonly name: string;
  readonly ownerId: number | null;
  readonly ownerName: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Harbor's metadata strings: `public`, `enable_content_trust`, `auto_scan`... as "true"/"false". */
  readonly metadata: Readonly<Record<string, string>>;
}

export function isPublic(project: Project): boolean {
  return project.metadata.public === "true";
}

export interface ProjectFilter {
  /** Part of the name. */
  readonly name?: string;
  readonly public?: boolean;
  /** The owner's username. */
  readonly owner?: string;
  readonly scope: ProjectScope;
}

interface ProjectRow {
  id: number;
  name: string;
  owner_id: number | null;
  owner_name: string | null;
  created_at: Date;
  updated_at: Date;
  metadata: Record<string, string> | null;
}

const SELECT_PROJECT = `
  SELECT p.id, p.name, p.owner_id, u.username AS owner_name, p.created_at, p.updated_at,
    (SELECT json_object_agg(m.name, m.value) FROM project_metadata m WHERE m.project_id = p.id) AS metadata
  FROM projects p LEFT JOIN users u ON u.id = p.owner_id`;

const IS_PUBLIC = `EXISTS (SELECT 1 FROM project_metadata m
  WHERE m.project_id = p.id AND m.name = 'public' AND m.value = 'true')`;

function toProject(row: ProjectRow): Project {
  return {
    id: row.id,
    name: row.name,
    ownerId: row.owner_id,
    ownerName: row.owner_name,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    metadata: row.metadata ?? {},
  };
}

async function upsertMetadata(db: Queryable, projectId: number, metadata: Readonly<Record<string, string>>) {
  for (const [name, value] of Object.entries(metadata)) {
    await db.query(
      `INSERT INTO project_metadata (project_id, name, value) VALUES ($1, $2, $3)
       ON CONFLICT (project_id, name) DO UPDATE SET value = EXCLUDED.value`,
      [projectId, name, value],
    );
  }
}

/** Every change of a project or its metadata NOTIFYs this channel with the project's name. */
export const PROJECT_CHANGES_CHANNEL = "trustdock_project_changes";

/** Tells every process (content trust caches project settings) that the project changed, on commit. */
async function announceChange(db: Queryable, projectId: number): Promise<void> {
  await db.query("SELECT pg_notify($1, name) FROM projects WHERE id = $2", [
    PROJECT_CHANGES_CHANNEL,
    projectId,
  ]);
}

/** Projects and their metadata; also what the access policy reads to decide. */
export class ProjectStore implements ProjectFactsSource {
  constructor(private readonly db: Db) {}

  async projectFacts(projectName: string, userId?: number): Promise<ProjectFacts | undefined> {
    const [row] = await this.db.query<{ id: number; public: boolean; role_id: number | null }>(
      `SELECT p.id, ${IS_PUBLIC} AS public, pm.role_id
       FROM projects p LEFT JOIN project_members pm ON pm.project_id = p.id AND pm.user_id = $2
       WHERE p.name = $1`,
      [projectName, userId ?? null],
    );
    if (!row) return undefined;
    return { id: row.id, public: row.public, ...(isRoleId(row.role_id) ? { role: row.role_id } : {}) };
  }

  async findByName(name: string): Promise<Project | undefined> {
    const [row] = await this.db.query<ProjectRow>(`${SELECT_PROJECT} WHERE p.name = $1`, [name]);
    return row && toProject(row);
  }

  async findById(id: number): Promise<Project | undefined> {
    const [row] = await this.db.query<ProjectRow>(`${SELECT_PROJECT} WHERE p.id = $1`, [id]);
    return row && toProject(row);
  }

  /** Sorted by name. */
  async list(filter: ProjectFilter, page: PageRequest): Promise<Page<Project>> {
    const params = new SqlParams();
    const where: string[] = [];
    if (filter.name !== undefined) where.push(`p.name LIKE ${params.add(containsPattern(filter.name))}`);
    if (filter.public !== undefined) where.push(`${IS_PUBLIC} = ${params.add(filter.public)}`);
    if (filter.owner !== undefined) where.push(`u.username = ${params.add(filter.owner)}`);
    const { scope } = filter;
    if (scope.kind === "public") {
      const visible = [IS_PUBLIC];
      if (scope.memberId !== undefined) {
        visible.push(`EXISTS (SELECT 1 FROM project_members pm
          WHERE pm.project_id = p.id AND pm.user_id = ${params.add(scope.memberId)})`);
      }
      if (scope.projectId !== undefined) visible.push(`p.id = ${params.add(scope.projectId)}`);
      where.push(`(${visible.join(" OR ")})`);
    }
    const condition = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    const [count] = await this.db.query<{ total: number }>(
      `SELECT count(*)::integer AS total FROM projects p LEFT JOIN users u ON u.id = p.owner_id ${condition}`,
      params.values,
    );
    const rows = await this.db.query<ProjectRow>(
      `${SELECT_PROJECT} ${condition} ORDER BY p.name
       LIMIT ${params.add(page.limit)} OFFSET ${params.add(page.offset)}`,
      params.values,
    );
    return { total: count?.total ?? 0, items: rows.map(toProject) };
  }

  /** A new project owned by `ownerId` (when given), who becomes its project admin as in Harbor. */
  async create(project: {
    name: string;
    ownerId?: number;
    metadata: Readonly<Record<string, string>>;
  }): Promise<Project> {
    try {
      const id = await this.db.transaction(async (tx) => {
        const [row] = await tx.query<{ id: number }>(
          "INSERT INTO projects (name, owner_id) VALUES ($1, $2) RETURNING id",
          [project.name, project.ownerId ?? null],
        );
        if (!row) throw new Error("INSERT ... RETURNING returned no row");
        await upsertMetadata(tx, row.id, project.metadata);
        await announceChange(tx, row.id);
        if (project.ownerId !== undefined) {
          await tx.query("INSERT INTO project_members (project_id, user_id, role_id) VALUES ($1, $2, $3)", [
            row.id,
            project.ownerId,
            ROLES.projectAdmin,
          ]);
        }
        return row.id;
      });
      const created = await this.findById(id);
      if (!created) throw new Error(`project ${id} vanished right after it was created`);
      return created;
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new HarborError("CONFLICT", `The project named ${project.name} already exists`);
      }
      throw err;
    }
  }

  /** Sets each of `metadata`'s entries, leaving the others as they are. */
  async setMetadata(projectId: number, metadata: Readonly<Record<string, string>>): Promise<void> {
    await this.db.transaction(async (tx) => {
      await upsertMetadata(tx, projectId, metadata);
      await tx.query("UPDATE projects SET updated_at = now() WHERE id = $1", [projectId]);
      await announceChange(tx, projectId);
    });
  }

  /** False when the project had no such entry. */
  async deleteMetadata(projectId: number, name: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        "DELETE FROM project_metadata WHERE project_id = $1 AND name = $2 RETURNING name",
        [projectId, name],
      );
      await announceChange(tx, projectId);
      return rows.length > 0;
    });
  }

  /** Its members and robots go with it. False when there was no such project. */
  async delete(projectId: number): Promise<boolean> {
    const rows = await this.db.query<{ name: string }>(
      "WITH gone AS (DELETE FROM projects WHERE id = $1 RETURNING name) SELECT name, pg_notify($2, name) FROM gone",
      [projectId, PROJECT_CHANGES_CHANNEL],
    );
    return rows.length > 0;
  }
}
