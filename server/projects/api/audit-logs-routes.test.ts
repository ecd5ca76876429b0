import { describeOnEachDatabase } from "../../../test/support/databases.js";
import { apiForSuite } from "../../../test/support/harbor-api.js";
import { AuditLog } from "../audit-log.js";
import type { AccessWorld } from "../testing/access-world.js";
import type { ApiClient } from "../testing/api-client.js";

interface Entry {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  op_time: string;
}

describeOnEachDatabase("Harbor audit log API", (factory) => {
  const suite = apiForSuite(factory);
  let api: ApiClient;
  let world: AccessWorld;

  beforeAll(async () => {
    api = suite.api;
    world = suite.world;
    // What the registry records, and an entry the API writes itself.
    const audit = new AuditLog(suite.db);
    await audit.record({
      username: "developer",
      operation: "push",
      resourceType: "artifact",
      resource: "team/app:1.0",
    });
    await audit.record({
      username: "anonymous",
      operation: "pull",
      resourceType: "artifact",
      resource: "open/web:latest",
    });
    await audit.record({
      username: "robot$team+ci",
      operation: "delete",
      resourceType: "repository",
      resource: "team/old",
    });
    await api.call("POST", "/projects", { as: "guest", body: { project_name: "guests" } });
  });

  it("lists every entry, newest first, for the system admin", async () => {
    const response = await api.call("GET", "/audit-logs", { as: "admin" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["x-total-count"]).toBe("4");
    const entries = response.json() as Entry[];
    expect(entries.map((e) => [e.username, e.operation, e.resource_type, e.resource])).toEqual([
      ["guest", "create", "project", "guests"],
      ["robot$team+ci", "delete", "repository", "team/old"],
      ["anonymous", "pull", "artifact", "open/web:latest"],
      ["developer", "push", "artifact", "team/app:1.0"],
    ]);
    expect(entries[0]?.op_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  it("pages with Harbor's headers", async () => {
    const response = await api.call("GET", "/audit-logs?page=2&page_size=3", { as: "admin" });
    expect((response.json() as Entry[]).map((e) => e.resource)).toEqual(["team/app:1.0"]);
    expect(response.headers.link).toBe('</api/v2.0/audit-logs?page=1&page_size=3>; rel="prev"');
  });

  it("shows a project admin the entries of the projects they administer only", async () => {
    const teamAdmin = (await api.call("GET", "/audit-logs", { as: "projectadmin" })).json() as Entry[];
    expect(teamAdmin.map((e) => e.resource)).toEqual(["team/old", "open/web:latest", "team/app:1.0"]);
    const guest = (await api.call("GET", "/audit-logs", { as: "guest" })).json() as Entry[];
    expect(guest.map((e) => e.resource)).toEqual(["guests"]);
    expect((await api.call("GET", "/audit-logs", { as: "outsider" })).json()).toEqual([]);
  });

  it("shows nothing to anonymous (401) or robots (403)", async () => {
    expect((await api.call("GET", "/audit-logs")).statusCode).toBe(401);
    const { ci } = world.robots;
    expect((await api.call("GET", "/audit-logs", { as: [ci.name, ci.secret] })).statusCode).toBe(403);
  });
});
