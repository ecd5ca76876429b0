import { describeOnEachDatabase } from "../../../test/support/databases.js";
import { apiForSuite } from "../../../test/support/harbor-api.js";
import type { ApiClient } from "../testing/api-client.js";

describeOnEachDatabase("Harbor project metadata API", (factory) => {
  const suite = apiForSuite(factory);
  let api: ApiClient;

  beforeAll(() => {
    api = suite.api;
  });

  it("reads all of a project's metadata, or one entry", async () => {
    expect((await api.call("GET", "/projects/open/metadatas/")).json()).toEqual({ public: "true" });
    expect((await api.call("GET", "/projects/open/metadatas")).json()).toEqual({ public: "true" });
    expect((await api.call("GET", "/projects/open/metadatas/public")).json()).toEqual({ public: "true" });
    expect((await api.call("GET", "/projects/open/metadatas/auto_scan")).statusCode).toBe(404);
  });

  it("adds, updates and deletes entries for the project admin", async () => {
    const as = "projectadmin";
    const add = { enable_content_trust: "true", auto_scan: "true" };
    expect((await api.call("POST", "/projects/team/metadatas/", { as, body: add })).statusCode).toBe(200);
    expect((await api.call("POST", "/projects/team/metadatas/", { as, body: add })).statusCode).toBe(409);
    const update = { enable_content_trust: "false" };
    const path = "/projects/team/metadatas/enable_content_trust";
    expect((await api.call("PUT", path, { as, body: update })).statusCode).toBe(200);
    expect((await api.call("DELETE", "/projects/team/metadatas/auto_scan", { as })).statusCode).toBe(200);
    expect((await api.call("GET", "/projects/team/metadatas/", { as: "guest" })).json()).toEqual({
      public: "false",
      enable_content_trust: "false",
    });
  });

  it("makes a project public for anonymous pulls once its public entry says so", async () => {
    const path = "/projects/team/metadatas/public";
    expect((await api.call("GET", "/projects/team")).statusCode).toBe(401);
    await api.call("PUT", path, { as: "projectadmin", body: { public: "true" } });
    expect((await api.call("GET", "/projects/team")).statusCode).toBe(200);
    await api.call("PUT", path, { as: "projectadmin", body: { public: "false" } });
    expect((await api.call("GET", "/projects/team")).statusCode).toBe(401);
  });

  it("refuses changes from below the project admin, and bodies that do not match the path", async () => {
    const body = { auto_scan: "true" };
    expect((await api.call("POST", "/projects/team/metadatas/", { as: "maintainer", body })).statusCode).toBe(
      403,
    );
    const mismatch = await api.call("PUT", "/projects/team/metadatas/public", { as: "projectadmin", body });
    expect(mismatch.statusCode).toBe(400);
    const unknownKey = await api.call("POST", "/projects/team/metadatas/", {
      as: "projectadmin",
      body: { retention_id: "3" },
    });
    expect(unknownKey.statusCode).toBe(400);
    const badValue = await api.call("POST", "/projects/team/metadatas/", {
      as: "projectadmin",
      body: { severity: "apocalyptic" },
    });
    expect(badValue.statusCode).toBe(400);
  });
});
