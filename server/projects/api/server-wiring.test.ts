import { describeOnEachDatabase } from "../../../test/support/databases.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../../../test/support/trustdock.js";
import type { TokenClaims } from "../../auth/token-service.js";

const basic = (username: string, password: string) =>
  `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
const admin = basic("admin", ADMIN_PASSWORD);

/** The Harbor API and the token service in one running server: robots made by one log in at the other. */
describeOnEachDatabase("Harbor API in the server", (factory) => {
  let td: TestTrustdock;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    const created = await factory.create();
    dispose = created.dispose;
    td = await startTestTrustdock(created.url ? { databaseUrl: created.url } : {});
  });
  afterAll(async () => {
    await td.close();
    await dispose();
  });

  const tokenAccess = async (authorization: string, scope: string) => {
    const response = await td.app.inject({
      method: "GET",
      url: `/service/token?service=trustdock&scope=${encodeURIComponent(scope)}`,
      headers: { authorization },
    });
    expect(response.statusCode).toBe(200);
    const token = (response.json() as { token: string }).token;
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as TokenClaims;
    return payload.access;
  };

  it("serves the public library project from the start", async () => {
    const response = await td.app.inject({ method: "GET", url: "/api/v2.0/projects/library" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ name: "library", metadata: { public: "true" } });
    expect((await td.app.inject({ method: "GET", url: "/api/v2.0/openapi.json" })).statusCode).toBe(200);
  });

  it("gives a robot created through the API a token for its project, and nothing elsewhere", async () => {
    const created = await td.app.inject({
      method: "POST",
      url: "/api/v2.0/robots",
      headers: { authorization: admin },
      payload: {
        name: "ci",
        level: "project",
        duration: -1,
        permissions: [
          {
            kind: "project",
            namespace: "library",
            access: [
              { resource: "repository", action: "pull" },
              { resource: "repository", action: "push" },
            ],
          },
        ],
      },
    });
    expect(created.statusCode).toBe(201);
    const { name, secret } = created.json() as { name: string; secret: string };
    const gun = `${td.hostPort}/library/app`;
    expect(await tokenAccess(basic(name, secret), `repository:${gun}:pull,push,*`)).toEqual([
      { type: "repository", name: gun, actions: ["pull", "push"] },
    ]);
    await td.app.inject({
      method: "POST",
      url: "/api/v2.0/projects",
      headers: { authorization: admin },
      payload: { project_name: "private" },
    });
    expect(await tokenAccess(basic(name, secret), "repository:private/app:pull")).toEqual([]);
  });

  it("refuses a push into a project that does not exist, to the admin too", async () => {
    expect(await tokenAccess(admin, "repository:nosuchproject/app:pull,push")).toEqual([]);
  });
});
