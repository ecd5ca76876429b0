import { describeOnEachDatabase } from "../../../test/support/databases.js";
import type { Db } from "../../storage/db.js";
import { EMPTY_CATALOG, type RepositoryCatalog } from "../catalog.js";
import { type AccessWorld, seedAccessWorld } from "../testing/access-world.js";
import { type ApiClient, startApi } from "../testing/api-client.js";

interface ProjectBody {
  project_id: number;
  name: string;
  owner_name: string;
  current_user_role_id: number;
  togglable: boolean;
  repo_count: number;
  metadata: Record<string, string>;
}

// Repositories exist in `team` only: enough to see repo_count and the refusal to delete a full project.
const catalog: RepositoryCatalog = {
  ...EMPTY_CATALOG,
  async listRepositories(project) {
    if (project.name !== "team") return { total: 0, items: [] };
    const now = new Date();
    return {
      total: 1,
      items: [{ name: "team/app", artifactCount: 1, pullCount: 0, createdAt: now, updatedAt: now }],
    };
  },
  listArtifacts: async () => undefined,
};

describeOnEachDatabase("Harbor projects API", (factory) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let world: AccessWorld;
  let api: ApiClient;

  beforeAll(async () => {
    ({ db, dispose } = await factory.create());
    world = await seedAccessWorld(db);
    api = await startApi(db, { catalog });
  });
  afterAll(async () => {
    await api.close();
    await dispose();
  });

  const names = (body: unknown) => (body as ProjectBody[]).map((p) => p.name);

  describe("listing", () => {
    it("shows anonymous and outsiders the public projects only", async () => {
      for (const as of [undefined, "outsider"]) {
        const response = await api.call("GET", "/projects", { ...(as ? { as } : {}) });
        expect(response.statusCode).toBe(200);
        expect(names(response.json())).toEqual(["library", "open"]);
        expect(response.headers["x-total-count"]).toBe("2");
      }
    });

    it("adds the projects a user belongs to, with their role", async () => {
      const response = await api.call("GET", "/projects", { as: "guest" });
      expect(names(response.json())).toEqual(["library", "open", "team"]);
      const team = (response.json() as ProjectBody[]).find((p) => p.name === "team");
      expect(team).toMatchObject({ current_user_role_id: 3, togglable: false, repo_count: 1 });
      expect(team?.metadata).toEqual({ public: "false" });
    });

    it("shows the system admin every project, and filters by name and publicity", async () => {
      expect(names((await api.call("GET", "/projects", { as: "admin" })).json())).toEqual([
        "elsewhere",
        "library",
        "open",
        "team",
      ]);
      expect(names((await api.call("GET", "/projects?name=e&public=false", { as: "admin" })).json())).toEqual(
        ["elsewhere", "team"],
      );
      expect(names((await api.call("GET", "/projects?public=false")).json())).toEqual([]);
    });

    it("pages as Harbor does, with X-Total-Count and Link", async () => {
      const first = await api.call("GET", "/projects?page_size=1", { as: "admin" });
      expect(names(first.json())).toEqual(["elsewhere"]);
      expect(first.headers["x-total-count"]).toBe("4");
      expect(first.headers.link).toBe('</api/v2.0/projects?page_size=1&page=2>; rel="next"');
      const second = await api.call("GET", "/projects?page=2&page_size=1", { as: "admin" });
      expect(names(second.json())).toEqual(["library"]);
      expect(second.headers.link).toBe(
        '</api/v2.0/projects?page=1&page_size=1>; rel="prev" , </api/v2.0/projects?page=3&page_size=1>; rel="next"',
      );
      expect((await api.call("GET", "/projects?page=4&page_size=1", { as: "admin" })).headers.link).toBe(
        '</api/v2.0/projects?page=3&page_size=1>; rel="prev"',
      );
    });

    it("refuses a page size over 100 with 400", async () => {
      const response = await api.call("GET", "/projects?page_size=101", { as: "admin" });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ errors: [{ code: "BAD_REQUEST", message: expect.any(String) }] });
    });
  });

  describe("creating", () => {
    it("creates a private project whose creator is its project admin, and records it", async () => {
      const created = await api.call("POST", "/projects", {
        as: "developer",
        body: { project_name: "fresh", metadata: { enable_content_trust: "true" } },
      });
      expect(created.statusCode).toBe(201);
      expect(created.body).toBe("");
      const location = created.headers.location as string;
      expect(location).toMatch(/^\/api\/v2\.0\/projects\/\d+$/);
      const fetched = await api.call("GET", location.replace("/api/v2.0", ""), { as: "developer" });
      expect(fetched.json()).toMatchObject({
        name: "fresh",
        owner_name: "developer",
        current_user_role_id: 1,
        togglable: true,
        metadata: { public: "false", enable_content_trust: "true" },
      });
      const [entry] = await db.query(
        "SELECT username, operation, resource_type, resource FROM audit_log WHERE resource = 'fresh'",
      );
      expect(entry).toEqual({
        username: "developer",
        operation: "create",
        resource_type: "project",
        resource: "fresh",
      });
    });

    it("takes Harbor's deprecated public flag, and names the project in Location when asked", async () => {
      const created = await api.call("POST", "/projects", {
        as: "guest",
        body: { project_name: "shared", public: true },
        headers: { "x-resource-name-in-location": "true" },
      });
      expect(created.headers.location).toBe("/api/v2.0/projects/shared");
      expect((await api.call("GET", "/projects/shared")).json()).toMatchObject({
        metadata: { public: "true" },
      });
    });

    it("answers a duplicate name with 409", async () => {
      const response = await api.call("POST", "/projects", { as: "admin", body: { project_name: "team" } });
      expect(response.statusCode).toBe(409);
      expect(response.json()).toEqual({
        errors: [{ code: "CONFLICT", message: "The project named team already exists" }],
      });
    });

    it.each([
      ["a name with capitals", { project_name: "Team" }],
      ["a name with a dot, which would read as a registry host", { project_name: "my.project" }],
      ["no name", { metadata: { public: "true" } }],
      ["a metadata value that is not true or false", { project_name: "x1", metadata: { public: "yes" } }],
      ["a proxy cache", { project_name: "proxy", registry_id: 1 }],
    ])("answers %s with 400", async (_what, body) => {
      const response = await api.call("POST", "/projects", { as: "admin", body });
      expect(response.statusCode).toBe(400);
      expect((response.json() as { errors: { code: string }[] }).errors[0]?.code).toBe("BAD_REQUEST");
    });

    it("answers a body that is not JSON with 400, not 500", async () => {
      const response = await api.call("POST", "/projects", {
        as: "admin",
        body: "{not json",
        headers: { "content-type": "application/json" },
      });
      expect(response.statusCode).toBe(400);
      expect((response.json() as { errors: { code: string }[] }).errors[0]?.code).toBe("BAD_REQUEST");
    });

    it("refuses anonymous with 401 and robot accounts with 403", async () => {
      expect((await api.call("POST", "/projects", { body: { project_name: "anon" } })).statusCode).toBe(401);
      const { ci } = world.robots;
      const robot = await api.call("POST", "/projects", {
        as: [ci.name, ci.secret],
        body: { project_name: "bot" },
      });
      expect(robot.statusCode).toBe(403);
    });

    it("refuses wrong credentials with 401 even where anonymous may read", async () => {
      const response = await api.call("GET", "/projects", { as: ["admin", "wrong"] });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({ errors: [{ code: "UNAUTHORIZED", message: "invalid credentials" }] });
    });
  });

  describe("reading one", () => {
    it("finds a project by name or by ID", async () => {
      const byName = await api.call("GET", "/projects/team", { as: "maintainer" });
      expect(byName.statusCode).toBe(200);
      const byId = await api.call("GET", `/projects/${world.projects.team}`, { as: "maintainer" });
      expect(byId.json()).toEqual(byName.json());
    });

    it("reads a numeric path as a name when X-Is-Resource-Name says so", async () => {
      await api.call("POST", "/projects", { as: "admin", body: { project_name: "2024" } });
      const byName = await api.call("GET", "/projects/2024", {
        as: "admin",
        headers: { "x-is-resource-name": "true" },
      });
      expect(byName.json()).toMatchObject({ name: "2024" });
      expect((await api.call("GET", "/projects/2024", { as: "admin" })).statusCode).toBe(404);
    });

    it("tells only the admin a project does not exist; others cannot tell it from a private one", async () => {
      const unknown = await api.call("GET", "/projects/nosuchproject", { as: "admin" });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toEqual({ errors: [{ code: "NOT_FOUND", message: "project not found" }] });
      expect((await api.call("GET", "/projects/nosuchproject", { as: "outsider" })).statusCode).toBe(403);
      expect((await api.call("GET", "/projects/team", { as: "outsider" })).statusCode).toBe(403);
      expect((await api.call("GET", "/projects/team")).statusCode).toBe(401);
      expect((await api.call("GET", "/projects/open")).statusCode).toBe(200);
    });

    it("says whether a name is taken, to authenticated callers", async () => {
      expect((await api.call("HEAD", "/projects?project_name=team", { as: "outsider" })).statusCode).toBe(
        200,
      );
      expect((await api.call("HEAD", "/projects?project_name=nosuch", { as: "outsider" })).statusCode).toBe(
        404,
      );
      expect((await api.call("HEAD", "/projects?project_name=team")).statusCode).toBe(401);
    });
  });

  describe("updating and deleting", () => {
    it("lets the project admin change settings, and nobody below", async () => {
      const update = { metadata: { enable_content_trust: "true", auto_scan: "false" } };
      expect((await api.call("PUT", "/projects/team", { as: "maintainer", body: update })).statusCode).toBe(
        403,
      );
      expect((await api.call("PUT", "/projects/team", { as: "projectadmin", body: update })).statusCode).toBe(
        200,
      );
      expect((await api.call("GET", "/projects/team", { as: "guest" })).json()).toMatchObject({
        metadata: { public: "false", enable_content_trust: "true", auto_scan: "false" },
      });
    });

    it("refuses to delete a project that holds repositories with 412", async () => {
      const response = await api.call("DELETE", "/projects/team", { as: "admin" });
      expect(response.statusCode).toBe(412);
      expect(response.json()).toEqual({
        errors: [{ code: "PRECONDITION", message: "the project contains repositories, can not be deleted" }],
      });
    });

    it("deletes an empty project for its project admin, with its members, and records it", async () => {
      await api.call("POST", "/projects", { as: "developer", body: { project_name: "doomed" } });
      expect((await api.call("DELETE", "/projects/doomed", { as: "guest" })).statusCode).toBe(403);
      expect((await api.call("DELETE", "/projects/doomed", { as: "developer" })).statusCode).toBe(200);
      expect((await api.call("GET", "/projects/doomed", { as: "admin" })).statusCode).toBe(404);
      const audit = await db.query("SELECT operation FROM audit_log WHERE resource = 'doomed' ORDER BY id");
      expect(audit).toEqual([{ operation: "create" }, { operation: "delete" }]);
    });
  });

  it("answers unknown API paths with Harbor's 404 body", async () => {
    const response = await api.call("GET", "/nothing/here");
    expect(response.statusCode).toBe(404);
    expect((response.json() as { errors: { code: string }[] }).errors[0]?.code).toBe("NOT_FOUND");
  });
});
