import { describeOnEachDatabase } from "../../../test/support/databases.js";
import type { Db } from "../../storage/db.js";
import { type AccessWorld, seedAccessWorld } from "../testing/access-world.js";
import { type ApiClient, startApi } from "../testing/api-client.js";

interface Created {
  id: number;
  name: string;
  secret: string;
  creation_time: string;
  expires_at: number;
}

const robotBody = (name: string, actions: string[], extra: Record<string, unknown> = {}) => ({
  name,
  level: "project",
  duration: -1,
  permissions: [
    {
      kind: "project",
      namespace: "team",
      access: actions.map((action) => ({ resource: "repository", action })),
    },
  ],
  ...extra,
});

describeOnEachDatabase("Harbor robot accounts API", (factory) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let world: AccessWorld;
  let api: ApiClient;

  beforeAll(async () => {
    ({ db, dispose } = await factory.create());
    world = await seedAccessWorld(db);
    api = await startApi(db);
  });
  afterAll(async () => {
    await api.close();
    await dispose();
  });

  const create = async (name: string, actions: string[], extra: Record<string, unknown> = {}) => {
    const response = await api.call("POST", "/robots", {
      as: "projectadmin",
      body: robotBody(name, actions, extra),
    });
    expect(response.statusCode).toBe(201);
    return { response, robot: response.json() as Created };
  };

  it("creates a robot whose secret is shown once and kept hashed", async () => {
    const { response, robot } = await create("builder", ["pull", "push"], { description: "CI" });
    expect(robot).toEqual({
      id: expect.any(Number),
      name: "robot$team+builder",
      secret: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      creation_time: expect.any(String),
      expires_at: -1,
    });
    expect(response.headers.location).toBe(`/api/v2.0/robots/${robot.id}`);
    const [row] = await db.query<{ secret_hash: string }>("SELECT secret_hash FROM robots WHERE id = $1", [
      robot.id,
    ]);
    expect(row?.secret_hash).toMatch(/^scrypt\$/);
    expect(row?.secret_hash).not.toContain(robot.secret);

    const fetched = await api.call("GET", `/robots/${robot.id}`, { as: "projectadmin" });
    expect(fetched.json()).toEqual({
      id: robot.id,
      name: "robot$team+builder",
      description: "CI",
      level: "project",
      duration: -1,
      editable: true,
      disable: false,
      expires_at: -1,
      permissions: [
        {
          kind: "project",
          namespace: "team",
          access: [
            { resource: "repository", action: "pull", effect: "allow" },
            { resource: "repository", action: "push", effect: "allow" },
          ],
        },
      ],
      creator_type: "local",
      creator_ref: world.users.projectAdmin.id,
      creation_time: robot.creation_time,
      update_time: expect.any(String),
    });
    expect(fetched.body).not.toContain(robot.secret);
  });

  it("lets a robot call the API with its name and secret, as a robot", async () => {
    const { robot } = await create("caller", ["pull"]);
    const as = [robot.name, robot.secret] as const;
    expect((await api.call("GET", "/projects/team", { as })).statusCode).toBe(200);
    expect((await api.call("GET", "/projects/elsewhere", { as })).statusCode).toBe(403);
    const current = await api.call("GET", "/users/current", { as });
    expect(current.statusCode).toBe(412);
    expect(current.json()).toEqual({
      errors: [{ code: "PRECONDITION", message: "a robot account has no user profile" }],
    });
  });

  it("sets expires_at from the duration in days", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { robot } = await create("monthly", ["pull"], { duration: 30 });
    expect(robot.expires_at).toBeGreaterThanOrEqual(before + 30 * 86_400 - 1);
    expect(robot.expires_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 30 * 86_400 + 1);
  });

  it("leaves robots to the project's admins", async () => {
    for (const as of ["maintainer", "developer", "outsider"]) {
      const response = await api.call("POST", "/robots", { as, body: robotBody("sneaky", ["pull"]) });
      expect(response.statusCode).toBe(403);
    }
    expect((await api.call("POST", "/robots", { body: robotBody("anon", ["pull"]) })).statusCode).toBe(401);
    const { ci } = world.robots;
    const byRobot = await api.call("POST", "/robots", {
      as: [ci.name, ci.secret],
      body: robotBody("child", ["pull"]),
    });
    expect(byRobot.statusCode).toBe(403);
    const nowhere = {
      ...robotBody("lost", ["pull"]),
      permissions: [
        { kind: "project", namespace: "nosuch", access: [{ resource: "repository", action: "pull" }] },
      ],
    };
    expect((await api.call("POST", "/robots", { as: "admin", body: nowhere })).statusCode).toBe(404);
  });

  it.each([
    ["a name with a plus", robotBody("a+b", ["pull"])],
    ["a system robot", robotBody("sys", ["pull"], { level: "system" })],
    ["a duration of 0", robotBody("zero", ["pull"], { duration: 0 })],
    ["an action robots cannot have", robotBody("boss", ["create"])],
    ["no access", robotBody("idle", [])],
    ["no permissions", { name: "bare", level: "project", duration: -1 }],
  ])("answers %s with 400", async (_what, body) => {
    const response = await api.call("POST", "/robots", { as: "projectadmin", body });
    expect(response.statusCode).toBe(400);
    expect((response.json() as { errors: { code: string }[] }).errors[0]?.code).toBe("BAD_REQUEST");
  });

  it("answers a second robot of the same name in the project with 409", async () => {
    const response = await api.call("POST", "/robots", {
      as: "projectadmin",
      body: robotBody("ci", ["pull"]),
    });
    expect(response.statusCode).toBe(409);
  });

  it("lists a project's robots for its admins, and every robot for the system admin", async () => {
    const query = `/robots?q=Level=project,ProjectID=${world.projects.team}&page_size=2`;
    const listed = await api.call("GET", query, { as: "projectadmin" });
    expect(listed.statusCode).toBe(200);
    expect(listed.headers["x-total-count"]).toBe(String((await db.query("SELECT id FROM robots")).length));
    expect((listed.json() as { name: string }[]).every((r) => r.name.startsWith("robot$team+"))).toBe(true);
    expect(listed.body).not.toMatch(/"secret"/);
    expect((await api.call("GET", query, { as: "guest" })).statusCode).toBe(403);
    expect((await api.call("GET", "/robots", { as: "projectadmin" })).statusCode).toBe(403);
    expect((await api.call("GET", "/robots", { as: "admin" })).statusCode).toBe(200);
    expect((await api.call("GET", "/robots?q=Level=project", { as: "admin" })).statusCode).toBe(400);
    expect((await api.call("GET", "/robots?q=nonsense", { as: "admin" })).statusCode).toBe(400);
  });

  it("disables, changes and re-enables a robot", async () => {
    const { robot } = await create("toggled", ["pull", "push"]);
    const as = [robot.name, robot.secret] as const;
    const path = `/robots/${robot.id}`;
    const disable = { ...robotBody("toggled", ["pull"]), disable: true };
    expect((await api.call("PUT", path, { as: "projectadmin", body: disable })).statusCode).toBe(200);
    expect((await api.call("GET", "/projects/team", { as })).statusCode).toBe(401);
    const enable = { ...robotBody("toggled", ["pull"]), disable: false };
    expect((await api.call("PUT", path, { as: "projectadmin", body: enable })).statusCode).toBe(200);
    expect((await api.call("GET", "/projects/team", { as })).statusCode).toBe(200);
    expect((await api.call("GET", path, { as: "projectadmin" })).json()).toMatchObject({
      disable: false,
      permissions: [{ access: [{ action: "pull" }] }],
    });
    const renamed = await api.call("PUT", path, { as: "projectadmin", body: robotBody("other", ["pull"]) });
    expect(renamed.statusCode).toBe(400);
    const moved = {
      ...robotBody("toggled", ["pull"]),
      permissions: [
        { kind: "project", namespace: "open", access: [{ resource: "repository", action: "pull" }] },
      ],
    };
    expect((await api.call("PUT", path, { as: "projectadmin", body: moved })).statusCode).toBe(400);
  });

  it("refreshes a secret: the new one works, the old one no longer", async () => {
    const { robot } = await create("rotated", ["pull"]);
    const path = `/robots/${robot.id}`;
    const refreshed = await api.call("PATCH", path, { as: "projectadmin", body: {} });
    const { secret } = refreshed.json() as { secret: string };
    expect(secret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect((await api.call("GET", "/projects/team", { as: [robot.name, robot.secret] })).statusCode).toBe(
      401,
    );
    expect((await api.call("GET", "/projects/team", { as: [robot.name, secret] })).statusCode).toBe(200);
    const chosen = await api.call("PATCH", path, {
      as: "projectadmin",
      body: { secret: "Chosen-Secret-42" },
    });
    expect(chosen.json()).toEqual({ secret: "Chosen-Secret-42" });
    const weak = await api.call("PATCH", path, { as: "projectadmin", body: { secret: "weak" } });
    expect(weak.statusCode).toBe(400);
  });

  it("deletes a robot, which can then no longer log in, and records its life", async () => {
    const { robot } = await create("shortlived", ["pull"]);
    expect((await api.call("DELETE", `/robots/${robot.id}`, { as: "developer" })).statusCode).toBe(403);
    expect((await api.call("DELETE", `/robots/${robot.id}`, { as: "projectadmin" })).statusCode).toBe(200);
    expect((await api.call("GET", `/robots/${robot.id}`, { as: "projectadmin" })).statusCode).toBe(404);
    expect((await api.call("GET", "/projects/team", { as: [robot.name, robot.secret] })).statusCode).toBe(
      401,
    );
    const audit = await db.query(
      "SELECT username, operation, resource_type FROM audit_log WHERE resource = $1 ORDER BY id",
      [robot.name],
    );
    expect(audit).toEqual([
      { username: "projectadmin", operation: "create", resource_type: "robot" },
      { username: "projectadmin", operation: "delete", resource_type: "robot" },
    ]);
  });
});
