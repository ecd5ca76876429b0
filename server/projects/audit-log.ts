import type { AuditScope } from "../auth/access.js";
import type { Queryable } from "../storage/db.js";
import type { Page, PageRequest } from "./page.js";
import { ROLES } from "./roles.js";
import { SqlParams } from "./sql-params.js";

/** `admit`, `warn` and `deny` are the admission webhook's decisions on an image. */
export type AuditOperation = "create" | "update" | "delete" | "pull" | "push" | "admit" | "warn" | "deny";
export type AuditResourceType =
  | "artifact"
  | "tag"
  | "project"
  | "repository"
  | "robot"
  | "member"
  | "user"
  | "admission";

export interface AuditEntry {
  /** Who did it: a username, a robot's `robot$...` name, or "anonymous". */
  readonly username: string;
  readonly operation: AuditOperation;
  readonly resourceType: AuditResourceType;
  /** What it was done to, as Harbor shows it: `library/app:latest`, `library/app:sha256:...`, a project name. */
  readonly resource: string;
  /**
   * The project it happened in, which decides which project admins see it. Left out for artifacts, tags,
   * repositories and projects, it is the resource's first path component.
   */
  readonly project?: string;
  /** When it happened, if earlier than its recording (pulls are recorded in batches); default now. */
  readonly at?: Date;
}

export interface AuditRecord {
  readonly id: number;
  readonly username: string;
  readonly operation: string;
  readonly resourceType: string;
  readonly resource: string;
  readonly opTime: Date;
}

interface AuditRow {
  id: string | number;
  username: string;
  operation: string;
  resource_type: string;
  resource: string;
  op_time: Date;
}

function projectOf(entry: AuditEntry): string | null {
  if (entry.project !== undefined) return entry.project;
  const pathOwner = ["artifact", "tag", "repository", "project"].includes(entry.resourceType);
  return pathOwner ? (entry.resource.split("/")[0] ?? null) : null;
}

/** Harbor's audit log: who pushed, pulled, created or deleted what, and when. */
export class AuditLog {
  constructor(private readonly db: Queryable) {}

  async record(entry: AuditEntry): Promise<void> {
    await this.recordAll([entry]);
  }

  /** Records every entry in one statement, whose text is the same for any number of entries. */
  async recordAll(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const column = (value: (entry: AuditEntry) => string) => entries.map(value);
    // Arrays hold no NULL here: "" stands for no project and for "now". Times go as epoch milliseconds,
    // which cost less to write out than ISO text when pulls are recorded by the thousand.
    await this.db.query(
      `INSERT INTO audit_log (username, operation, resource_type, resource, project_name, op_time)
       SELECT username, operation, resource_type, resource, NULLIF(project_name, ''),
              coalesce(to_timestamp(NULLIF(at, '')::bigint / 1000.0), now())
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
         AS entry (username, operation, resource_type, resource, project_name, at)`,
      [
        column((entry) => entry.username),
        column((entry) => entry.operation),
        column((entry) => entry.resourceType),
        column((entry) => entry.resource),
        column((entry) => projectOf(entry) ?? ""),
        column((entry) => (entry.at === undefined ? "" : String(entry.at.getTime()))),
      ],
    );
  }

  /** Newest first, as Harbor lists them. */
  async list(scope: AuditScope, page: PageRequest): Promise<Page<AuditRecord>> {
    // A project admin reads the entries of the projects they administer (Harbor's rule), by name, so
    // entries of a deleted project stay with whoever administers a project of that name now.
    const params = new SqlParams();
    const condition =
      scope.kind === "all"
        ? ""
        : `WHERE project_name IN (SELECT p.name FROM projects p
             JOIN project_members pm ON pm.project_id = p.id
             WHERE pm.user_id = ${params.add(scope.userId)} AND pm.role_id = ${params.add(ROLES.projectAdmin)})`;
    const [count] = await this.db.query<{ total: number }>(
      `SELECT count(*)::integer AS total FROM audit_log ${condition}`,
      params.values,
    );
    const rows = await this.db.query<AuditRow>(
      `SELECT id, username, operation, resource_type, resource, op_time FROM audit_log ${condition}
       ORDER BY id DESC LIMIT ${params.add(page.limit)} OFFSET ${params.add(page.offset)}`,
      params.values,
    );
    return {
      total: count?.total ?? 0,
      items: rows.map((row) => ({
        id: Number(row.id),
        username: row.username,
        operation: row.operation,
        resourceType: row.resource_type,
        resource: row.resource,
        opTime: row.op_time,
      })),
    };
  }
}
