import { describeOnEachDatabase } from "../../../test/support/databases.js";
import type { Db } from "../../storage/db.js";
import { seedAccessWorld } from "../testing/access-world.js";
import { type ApiClient, startApi } from "../testing/api-client.js";

interface MemberBody {
  id: number;
  entity_name: string;
  role_id: number;
  role_name: string;
  entity_type: string;
}

describeOnEachDatabase("Harbor members API", (factory) => {
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

  const membersOf = async (project: string, as = "projectadmin") =>
    (await api.call("GET", `/projects/${project}/members`, { as })).json() as MemberBody[];

  describe("members", () => {
    it("lists a project's members with Harbor's role names, for its members only", async () => {
      const members = await membersOf("team", "guest");
      expect(members.map((m) => [m.entity_name, m.role_id, m.role_name, m.entity_type])).toEqual([
        ["developer", 2, "developer", "u"],
        ["guest", 3, "guest", "u"],
        ["maintainer", 4, "maintainer", "u"],
        ["projectadmin", 1, "projectAdmin", "u"],
      ]);
      expect((await api.call("GET", "/projects/team/members", { as: "outsider" })).statusCode).toBe(403);
      expect((await api.call("GET", "/projects/open/members")).statusCode).toBe(401);
      const search = await api.call("GET", "/projects/team/members?entityname=main", { as: "guest" });
      expect((search.json() as MemberBody[]).map((m) => m.entity_name)).toEqual(["maintainer"]);
    });

    it("adds a member by username, which then gets that role's access, and records it", async () => {
      const created = await api.call("POST", "/projects/team/members", {
        as: "projectadmin",
        body: { role_id: 2, member_user: { username: "outsider" } },
      });
      expect(created.statusCode).toBe(201);
      const location = created.headers.location as string;
      expect(location).toMatch(/^\/api\/v2\.0\/projects\/team\/members\/\d+$/);
      const member = await api.call("GET", location.replace("/api/v2.0", ""), { as: "guest" });
      expect(member.json()).toMatchObject({ entity_name: "outsider", role_id: 2, role_name: "developer" });
      expect((await api.call("GET", "/projects/team", { as: "outsider" })).json()).toMatchObject({
        current_user_role_id: 2,
      });
      const [entry] = await db.query(
        "SELECT username, operation, resource_type, resource, project_name FROM audit_log WHERE resource_type = 'member'",
      );
      expect(entry).toEqual({
        username: "projectadmin",
        operation: "create",
        resource_type: "member",
        resource: "outsider",
        project_name: "team",
      });
    });

    it("changes a member's role and removes members", async () => {
      const outsider = (await membersOf("team")).find((m) => m.entity_name === "outsider");
      const path = `/projects/team/members/${outsider?.id}`;
      expect((await api.call("PUT", path, { as: "projectadmin", body: { role_id: 3 } })).statusCode).toBe(
        200,
      );
      expect((await api.call("GET", path, { as: "guest" })).json()).toMatchObject({ role_id: 3 });
      expect((await api.call("DELETE", path, { as: "projectadmin" })).statusCode).toBe(200);
      expect((await api.call("GET", path, { as: "guest" })).statusCode).toBe(404);
      expect((await api.call("GET", "/projects/team", { as: "outsider" })).statusCode).toBe(403);
    });

    it("keeps member changes for project admins", async () => {
      const body = { role_id: 1, member_user: { username: "outsider" } };
      for (const as of ["maintainer", "developer", "guest", "outsider"]) {
        expect((await api.call("POST", "/projects/team/members", { as, body })).statusCode).toBe(403);
      }
      expect((await api.call("POST", "/projects/team/members", { as: "admin", body })).statusCode).toBe(201);
    });

    it.each([
      ["an existing member", { role_id: 3, member_user: { username: "guest" } }, 409, "CONFLICT"],
      ["an unknown user", { role_id: 3, member_user: { username: "nobody" } }, 404, "NOT_FOUND"],
      ["an unknown role", { role_id: 7, member_user: { username: "outsider" } }, 400, "BAD_REQUEST"],
      ["no user", { role_id: 3 }, 400, "BAD_REQUEST"],
      ["a group", { role_id: 3, member_group: { group_name: "devs" } }, 400, "BAD_REQUEST"],
    ])("answers adding %s with %i", async (_what, body, status, code) => {
      const response = await api.call("POST", "/projects/team/members", { as: "projectadmin", body });
      expect(response.statusCode).toBe(status);
      expect((response.json() as { errors: { code: string }[] }).errors[0]?.code).toBe(code);
    });

    it("answers an unknown member or a malformed member ID with 404 and 400", async () => {
      expect((await api.call("GET", "/projects/team/members/99999", { as: "guest" })).statusCode).toBe(404);
      expect((await api.call("GET", "/projects/team/members/abc", { as: "guest" })).statusCode).toBe(400);
    });
  });
});
