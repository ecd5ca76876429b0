import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Db } from "../../storage/db.js";
import { basicAuth } from "./registry-client.js";

// A registry's callers made as a Harbor administrator makes them: users, projects, members and robots
// created through /api/v2.0, so tests of who may pull and push prove the API and the registry agree.
// Test support only; nothing in the server imports it.

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Three projects named after this world's `suffix`: `private` (guest, developer, maintainer members),
 * `public` (no members) and `other` (private, nobody is in it); an `outsider` user in none; robots of the
 * private project: `pusher` (pull, push), `reader` (pull) and `expired` (pull, push, expired a day ago).
 */
export interface HarborAccessWorld {
  readonly projects: { readonly private: string; readonly public: string; readonly other: string };
  readonly users: Readonly<Record<"guest" | "developer" | "maintainer" | "outsider", Credentials>>;
  readonly robots: Readonly<Record<"pusher" | "reader" | "expired", Credentials>>;
}

/** Builds a HarborAccessWorld through the Harbor API of `app`, as `admin`; `db` is the app's database. */
export async function buildHarborAccessWorld(
  app: Pick<FastifyInstance, "inject">,
  db: Db,
  adminPassword: string,
): Promise<HarborAccessWorld> {
  const suffix = randomBytes(3).toString("hex");
  const admin = basicAuth("admin", adminPassword);
  const api = async (method: "POST" | "PUT", path: string, body: object, expected: number) => {
    const res = await app.inject({
      method,
      url: `/api/v2.0${path}`,
      headers: { authorization: admin, "content-type": "application/json" },
      payload: JSON.stringify(body),
    });
    if (res.statusCode !== expected) {
      throw new Error(`${method} ${path} answered ${res.statusCode}: ${res.payload}`);
    }
    return res;
  };

  const projects = { private: `private-${suffix}`, public: `public-${suffix}`, other: `other-${suffix}` };
  await api("POST", "/projects", { project_name: projects.private, metadata: { public: "false" } }, 201);
  await api("POST", "/projects", { project_name: projects.public, metadata: { public: "true" } }, 201);
  await api("POST", "/projects", { project_name: projects.other, metadata: { public: "false" } }, 201);

  const user = async (role: string): Promise<Credentials> => {
    const credentials = { username: `${role}-${suffix}`, password: `Secret-${suffix}-1` };
    await api("POST", "/users", credentials, 201);
    return credentials;
  };
  const users = {
    guest: await user("guest"),
    developer: await user("developer"),
    maintainer: await user("maintainer"),
    outsider: await user("outsider"),
  };
  // Harbor's role IDs: 2 developer, 3 guest, 4 maintainer.
  for (const [role, roleId] of [
    ["guest", 3],
    ["developer", 2],
    ["maintainer", 4],
  ] as const) {
    await api(
      "POST",
      `/projects/${projects.private}/members`,
      { role_id: roleId, member_user: { username: users[role].username } },
      201,
    );
  }

  const robot = async (name: string, actions: string[], duration: number) => {
    const res = await api(
      "POST",
      "/robots",
      {
        name,
        level: "project",
        duration,
        permissions: [
          {
            kind: "project",
            namespace: projects.private,
            access: actions.map((action) => ({ resource: "repository", action })),
          },
        ],
      },
      201,
    );
    const created = res.json<{ id: number; name: string; secret: string }>();
    return { id: created.id, username: created.name, password: created.secret };
  };
  const pusher = await robot("pusher", ["pull", "push"], -1);
  const reader = await robot("reader", ["pull"], -1);
  // The API takes no expiry in the past: a robot of one day, made two days ago, expired yesterday.
  const expired = await robot("expired", ["pull", "push"], 1);
  await db.query("UPDATE robots SET created_at = now() - interval '2 days' WHERE id = $1", [expired.id]);

  const credentials = ({ username, password }: Credentials) => ({ username, password });
  return {
    projects,
    users,
    robots: { pusher: credentials(pusher), reader: credentials(reader), expired: credentials(expired) },
  };
}
