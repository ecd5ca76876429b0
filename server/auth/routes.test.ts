import Fastify, { type FastifyInstance } from "fastify";
import { describeOnEachDatabase } from "../../test/support/databases.js";
import type { Db } from "../storage/db.js";
import { migrate } from "../storage/migrations.js";
import { ensureAdmin } from "./ensure-admin.js";
import { authMigrations } from "./migrations.js";
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
  errors: [{ code: "UNAUTHORIZED", message: "authentication required", detail: null }],
};

describeOnEachDatabase("token routes", (factory) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let app: FastifyInstance;
  let tokenService: TokenService;
  let base: string;
  let users: UserStore;

  beforeAll(async () => {
    ({ db, dispose } = await factory.create());
    await migrate(db, "auth", authMigrations);
    await ensureAdmin(db, "admin-secret");
    users = new UserStore(db);
    await users.create({ username: "alice", password: "alice-secret" });
    tokenService = await TokenService.open(db);
    app = Fastify();
    await app.register(tokenRoutes, { tokenService, users });
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
    expect(await unreadable.json()).toEqual(unauthorizedBody);
  });

  it("gives anonymous a token with an empty access list", async () => {
    const response = await getToken("service=trustdock&scope=repository:library/app:pull");
    expect(response.status).toBe(200);
    expect(tokenService.verify((await tokenReply(response)).token)).toMatchObject({ sub: "", access: [] });
  });

  it("gives a user without rights a token with nothing in it", async () => {
    const response = await getToken("scope=repository:library/app:pull,push", basic("alice", "alice-secret"));
    expect(tokenService.verify((await tokenReply(response)).token)).toMatchObject({
      sub: "alice",
      access: [],
    });
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
      await outer.register(tokenRoutes, { tokenService, users });
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
