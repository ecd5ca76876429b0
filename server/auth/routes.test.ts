import Fastify, { type FastifyInstance } from "fastify";
import { describeOnEachDatabase } from "../../test/support/databases.js";
import { type AccessControl, projectAccessControl } from "../projects/access-control.js";
import { type AccessWorld, seedAccessWorld } from "../projects/testing/access-world.js";
import type { Db } from "../storage/db.js";
import { tokenRoutes } from "./routes.js";
import { TokenService } from "./token-service.js";
import { UserStore } from "./users.js";

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
interface TokenReply {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}
const tokenReply = async (response: Response) => (await response.json()) as TokenReply;
const unauthorizedBody = {
  errors: [
    {
      code: "UNAUTHORIZED",
      message: "incorrect username or password, or the account is disabled or expired",
      detail: null,
    },
  ],
};

describeOnEachDatabase("token routes", (factory) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let app: FastifyInstance;
  let tokenService: TokenService;
  let base: string;
  let access: AccessControl;
  let world: AccessWorld;

  beforeAll(async () => {
    ({ db, dispose } = await factory.create());
    world = await seedAccessWorld(db);
    access = projectAccessControl(db, new UserStore(db));
    tokenService = await TokenService.open(db);
    app = Fastify();
    await app.register(tokenRoutes, { tokenService, ...access });
    base = await app.listen({ port: 0, host: "127.0.0.1" });
  });
  afterAll(async () => {
    await app.close();
    await dispose();
  });

  // Over a real socket: fastify's inject loads light-my-request, whose require() of the ESM-only
  // `cookie` 2 jest's module loader cannot follow.
  const getToken = (query: string, authorization?: string) =>
    fetch(`${base}/service/token?${query}`, { headers: authorization ? { authorization } : {} });

  it("gives the admin pull and push on a notary GUN", async () => {
    const response = await getToken(
      `service=trustdock&scope=${encodeURIComponent("repository:127.0.0.1:5000/library/app:pull,push")}&account=admin`,
      basic("admin", "admin-secret"),
    );
    expect(response.status).toBe(200);
    const body = await tokenReply(response);
    expect(body).toEqual({
      token: expect.any(String),
      access_token: body.token,
      expires_in: 300,
      issued_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
    });
    expect(tokenService.verify(body.token)).toMatchObject({
      sub: "admin",
      aud: "trustdock",
      access: [{ type: "repository", name: "127.0.0.1:5000/library/app", actions: ["pull", "push"] }],
    });
  });

  it("gives the admin pull on a registry path, and several scopes at once", async () => {
    const response = await getToken(
      "service=trustdock&scope=repository:library/app:pull&scope=registry:catalog:*&scope=bogus:x:pull",
      basic("admin", "admin-secret"),
    );
    expect(tokenService.verify((await tokenReply(response)).token).access).toEqual([
      { type: "repository", name: "library/app", actions: ["pull"] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ]);
  });

  it("answers a wrong password with 401 and docker's error body", async () => {
    const response = await getToken(
      "service=trustdock&scope=repository:library/app:pull",
      basic("admin", "nope"),
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual(unauthorizedBody);
  });

  it("answers an unknown user and unreadable credentials with 401 too", async () => {
    expect((await getToken("service=trustdock", basic("mallory", "admin-secret"))).status).toBe(401);
    const unreadable = await getToken("service=trustdock", "Basic !!!");
    expect(unreadable.status).toBe(401);
    expect(await unreadable.json()).toEqual({
      errors: [{ code: "UNAUTHORIZED", message: "the Authorization header cannot be read", detail: null }],
    });
  });

  const grantedBy = async (response: Response) => tokenService.verify((await tokenReply(response)).token);

  it("gives anonymous pull on a public project and nothing on a private one", async () => {
    const response = await getToken(
      "service=trustdock&scope=repository:library/app:pull,push&scope=repository:team/app:pull",
    );
    expect(response.status).toBe(200);
    expect(await grantedBy(response)).toMatchObject({
      sub: "",
      access: [{ type: "repository", name: "library/app", actions: ["pull"] }],
    });
  });

  it("gives a user without rights a token with nothing in it", async () => {
    const response = await getToken(
      "scope=repository:team/app:pull,push",
      basic("outsider", "outsider-secret"),
    );
    expect(await grantedBy(response)).toMatchObject({ sub: "outsider", access: [] });
  });

  it("gives a guest asking for pull and push only pull, and a developer both", async () => {
    const scope = `scope=${encodeURIComponent("repository:127.0.0.1:5000/team/app:pull,push")}`;
    expect((await grantedBy(await getToken(scope, basic("guest", "guest-secret")))).access).toEqual([
      { type: "repository", name: "127.0.0.1:5000/team/app", actions: ["pull"] },
    ]);
    expect((await grantedBy(await getToken(scope, basic("developer", "developer-secret")))).access).toEqual([
      { type: "repository", name: "127.0.0.1:5000/team/app", actions: ["pull", "push"] },
    ]);
  });

  it("gives delete and * to a maintainer, and not to a developer", async () => {
    const scope = "scope=repository:team/app:delete,*";
    expect((await grantedBy(await getToken(scope, basic("maintainer", "maintainer-secret")))).access).toEqual(
      [{ type: "repository", name: "team/app", actions: ["delete", "*"] }],
    );
    expect((await grantedBy(await getToken(scope, basic("developer", "developer-secret")))).access).toEqual(
      [],
    );
  });

  it("gives even the admin nothing in a project that does not exist", async () => {
    const response = await getToken(
      "scope=repository:nosuchproject/app:pull,push",
      basic("admin", "admin-secret"),
    );
    expect((await grantedBy(response)).access).toEqual([]);
  });

  it("logs a robot in with its secret and grants it its permissions in its own project only", async () => {
    const { ci } = world.robots;
    const response = await getToken(
      "scope=repository:team/app:pull,push&scope=repository:elsewhere/app:pull",
      basic(ci.name, ci.secret),
    );
    expect(response.status).toBe(200);
    expect(await grantedBy(response)).toMatchObject({
      sub: "robot$team+ci",
      access: [{ type: "repository", name: "team/app", actions: ["pull", "push"] }],
    });
  });

  it("refuses an expired or disabled robot as it refuses a wrong password", async () => {
    for (const robot of [world.robots.expired, world.robots.disabled]) {
      const response = await getToken("scope=repository:team/app:pull", basic(robot.name, robot.secret));
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual(unauthorizedBody);
    }
  });

  describe("OAuth2 POST", () => {
    // fetch sends a URLSearchParams body as application/x-www-form-urlencoded, as docker does.
    const post = (form: Record<string, string>) =>
      fetch(`${base}/service/token`, { method: "POST", body: new URLSearchParams(form) });

    it("issues a token for the password grant, with space-separated scopes", async () => {
      const response = await post({
        grant_type: "password",
        username: "admin",
        password: "admin-secret",
        service: "trustdock",
        client_id: "docker",
        scope: "repository:library/app:pull,push repository:127.0.0.1:5000/library/app:pull",
      });
      expect(response.status).toBe(200);
      expect(tokenService.verify((await tokenReply(response)).access_token).access).toEqual([
        { type: "repository", name: "library/app", actions: ["pull", "push"] },
        { type: "repository", name: "127.0.0.1:5000/library/app", actions: ["pull"] },
      ]);
    });

    it("issues a robot's token as docker login does", async () => {
      const { ci } = world.robots;
      const response = await post({
        grant_type: "password",
        username: ci.name,
        password: ci.secret,
        service: "trustdock",
        scope: "repository:team/app:push,pull",
      });
      expect(response.status).toBe(200);
      expect(tokenService.verify((await tokenReply(response)).access_token)).toMatchObject({
        sub: ci.name,
        access: [{ type: "repository", name: "team/app", actions: ["push", "pull"] }],
      });
    });

    it("answers a wrong password with 401", async () => {
      const response = await post({
        grant_type: "password",
        username: "admin",
        password: "x",
        service: "trustdock",
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual(unauthorizedBody);
    });

    it("reads the form with its own parser, whatever parser the app has for forms", async () => {
      const outer = Fastify();
      outer.addContentTypeParser("application/x-www-form-urlencoded", (_request, _payload, done) =>
        done(null, { unrelated: true }),
      );
      await outer.register(tokenRoutes, { tokenService, ...access });
      const url = await outer.listen({ port: 0, host: "127.0.0.1" });
      try {
        const form = new URLSearchParams({
          grant_type: "password",
          username: "admin",
          password: "admin-secret",
        });
        expect((await fetch(`${url}/service/token`, { method: "POST", body: form })).status).toBe(200);
      } finally {
        await outer.close();
      }
    });

    it("answers a body that is not a form with 400", async () => {
      const response = await fetch(`${base}/service/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ grant_type: "password", username: "admin", password: "admin-secret" }),
      });
      expect(response.status).toBe(400);
    });

    it("does not support refresh tokens or other grants", async () => {
      const refresh = await post({ grant_type: "refresh_token", refresh_token: "r", service: "trustdock" });
      expect(refresh.status).toBe(400);
      expect(await refresh.json()).toEqual({
        errors: [{ code: "UNSUPPORTED", message: "refresh tokens are not supported", detail: null }],
      });
      expect((await post({ grant_type: "client_credentials" })).status).toBe(400);
      expect((await post({ grant_type: "password", username: "admin" })).status).toBe(400);
    });
  });
});
