import { describeOnEachDatabase } from "../../../test/support/databases.js";
import { UserStore } from "../../auth/users.js";
import type { Db } from "../../storage/db.js";
import { seedAccessWorld } from "../testing/access-world.js";
import { type ApiClient, startApi } from "../testing/api-client.js";

const newUser = {
  username: "carol",
  password: "Carol-Password-1",
  email: "carol@example.com",
  realname: "Carol",
};

describeOnEachDatabase("Harbor users API", (factory) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let api: ApiClient;

  beforeAll(async () => {
    ({ db, dispose } = await factory.create());
    await seedAccessWorld(db);
    api = await startApi(db);
  });
  afterAll(async () => {
    await api.close();
    await dispose();
  });

  it("lets the system admin create a user who can then log in and read their profile", async () => {
    const created = await api.call("POST", "/users", { as: "admin", body: newUser });
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toMatch(/^\/api\/v2\.0\/users\/\d+$/);
    expect(await new UserStore(db).authenticate("carol", "Carol-Password-1")).toMatchObject({
      isAdmin: false,
    });
    const current = await api.call("GET", "/users/current", { as: ["carol", "Carol-Password-1"] });
    expect(current.json()).toEqual({
      user_id: Number((created.headers.location as string).split("/").pop()),
      username: "carol",
      email: "carol@example.com",
      realname: "Carol",
      comment: "",
      sysadmin_flag: false,
      admin_role_in_auth: false,
      creation_time: expect.any(String),
      update_time: expect.any(String),
    });
    const [entry] = await db.query(
      "SELECT username, operation, resource_type FROM audit_log WHERE resource = 'carol'",
    );
    expect(entry).toEqual({ username: "admin", operation: "create", resource_type: "user" });
  });

  it("refuses user creation to everyone but the system admin", async () => {
    const body = { ...newUser, username: "dave" };
    const forbidden = await api.call("POST", "/users", { as: "projectadmin", body });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toEqual({
      errors: [{ code: "FORBIDDEN", message: "only the system admin may do this" }],
    });
    expect((await api.call("POST", "/users", { body })).statusCode).toBe(401);
  });

  it("answers a taken username with 409", async () => {
    const response = await api.call("POST", "/users", {
      as: "admin",
      body: { ...newUser, username: "guest" },
    });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({
      errors: [{ code: "CONFLICT", message: "username guest is already used" }],
    });
  });

  it.each([
    ["a weak password", { username: "erin", password: "password" }],
    ["a robot-like name", { username: "robot$x", password: "Erin-Password-1" }],
    ["a malformed email", { username: "erin", password: "Erin-Password-1", email: "erin" }],
    ["no password", { username: "erin" }],
  ])("answers %s with 400", async (_what, body) => {
    const response = await api.call("POST", "/users", { as: "admin", body });
    expect(response.statusCode).toBe(400);
    expect((response.json() as { errors: { code: string }[] }).errors[0]?.code).toBe("BAD_REQUEST");
  });

  it("shows the admin's profile with its admin flag, and asks anonymous to log in", async () => {
    expect((await api.call("GET", "/users/current", { as: "admin" })).json()).toMatchObject({
      username: "admin",
      sysadmin_flag: true,
    });
    expect((await api.call("GET", "/users/current")).statusCode).toBe(401);
  });
});
