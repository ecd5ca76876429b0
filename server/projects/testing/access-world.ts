import type { RepositoryAction } from "../../auth/access.js";
import { ensureAdmin } from "../../auth/ensure-admin.js";
import { authMigrations } from "../../auth/migrations.js";
import { type User, UserStore } from "../../auth/users.js";
import type { Db } from "../../storage/db.js";
import { migrate } from "../../storage/migrations.js";
import { MemberStore } from "../member-store.js";
import { projectsMigrations } from "../migrations.js";
import { ProjectStore } from "../project-store.js";
import { RobotStore } from "../robot-store.js";
import { ROLES, type RoleName } from "../roles.js";

/** Every user's password in the world: `<username>-secret`. */
export const passwordOf = (username: string) => `${username}-secret`;
export const ADMIN_PASSWORD = passwordOf("admin");

export interface SeededRobot {
  readonly name: string;
  readonly secret: string;
}

/**
 * A database where each kind of caller exists, for tests of who may do what: a public project `open` and a
 * private one `team`, a user for each role in both (named after the role, in lower case), `outsider` who
 * belongs to neither, the admin, robots of `team`: `ci` (pull, push), `cleaner` (pull, push, delete),
 * `reader` (pull), `expired` and `disabled` (pull, push), and a private project `elsewhere` nobody is in.
 */
export interface AccessWorld {
  readonly users: Readonly<Record<RoleName | "outsider" | "admin", User>>;
  readonly projects: { readonly open: number; readonly team: number; readonly elsewhere: number };
  readonly robots: Readonly<Record<"ci" | "cleaner" | "reader" | "expired" | "disabled", SeededRobot>>;
}

export async function seedAccessWorld(db: Db): Promise<AccessWorld> {
  await migrate(db, "auth", authMigrations);
  await migrate(db, "projects", projectsMigrations);
  await ensureAdmin(db, ADMIN_PASSWORD);
  const userStore = new UserStore(db);
  const create = (username: string) => userStore.create({ username, password: passwordOf(username) });
  const admin = await userStore.find("admin");
  if (!admin) throw new Error("ensureAdmin made no admin");
  const users = {
    admin,
    outsider: await create("outsider"),
    projectAdmin: await create("projectadmin"),
    maintainer: await create("maintainer"),
    developer: await create("developer"),
    guest: await create("guest"),
  };

  const projects = new ProjectStore(db);
  const open = await projects.create({ name: "open", metadata: { public: "true" } });
  const team = await projects.create({ name: "team", metadata: { public: "false" } });
  const elsewhere = await projects.create({ name: "elsewhere", metadata: { public: "false" } });
  const members = new MemberStore(db);
  for (const project of [open, team]) {
    for (const role of ["projectAdmin", "maintainer", "developer", "guest"] as const) {
      await members.add(project.id, users[role], ROLES[role]);
    }
  }

  const robotStore = new RobotStore(db);
  const robot = async (name: string, actions: RepositoryAction[], extra: { duration?: number } = {}) => {
    const { robot, secret } = await robotStore.create({
      projectId: team.id,
      name,
      description: "",
      actions,
      duration: extra.duration ?? -1,
      disabled: false,
      creatorId: users.admin.id,
    });
    return { id: robot.id, name: robot.fullName, secret };
  };
  const expired = await robot("expired", ["pull", "push"], { duration: 1 });
  await db.query("UPDATE robots SET created_at = now() - interval '2 days' WHERE id = $1", [expired.id]);
  const disabled = await robot("disabled", ["pull", "push"]);
  await robotStore.update(disabled.id, { disabled: true });

  return {
    users,
    projects: { open: open.id, team: team.id, elsewhere: elsewhere.id },
    robots: {
      ci: await robot("ci", ["pull", "push"]),
      cleaner: await robot("cleaner", ["pull", "push", "delete"]),
      reader: await robot("reader", ["pull"]),
      expired,
      disabled,
    },
  };
}
