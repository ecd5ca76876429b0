import Fastify, { type FastifyInstance } from "fastify";
import { describeOnEachDatabase } from "../../test/support/databases.js";
import { projectAccessControl } from "../projects/access-control.js";
import { type AccessWorld, seedAccessWorld } from "../projects/testing/access-world.js";
import type { Db } from "../storage/db.js";
import { type Access, isAction } from "./access.js";
import { createAuthorizer } from "./authorize.js";
import { AuthError } from "./errors.js";
import { ANONYMOUS, TokenService } from "./token-service.js";
import { UserStore } from "./users.js";

const GUN = "127.0.0.1:5000/library/app";
const pullPush: Access[] = [{ type: "repository", name: GUN, actions: ["pull", "push"] }];
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describeOnEachDatabase("authorize", (factory) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let app: FastifyInstance;
  let tokenService: TokenService;
  let base: string;
  let world: AccessWorld;

  beforeAll(async () => {
    ({ db, dispose } = await factory.create());
    world = await seedAccessWorld(db);
    tokenService = await TokenService.open(db);
    const authorize = createAuthorizer({
      tokenService,
      ...projectAccessControl(db, new UserStore(db)),
      realm: (request) => `https://${request.headers.host}/service/token`,
      service: "trustdock",
    });

    // A stand-in protocol route: the repository from the path, the actions from the query, and
    // AuthError mapped to a status, a challenge and a body as each protocol will do with its own body.
    app = Fastify();
    app.setErrorHandler((err, _request, reply) => {
      if (!(err instanceof AuthError)) return reply.send(err);
      return reply.code(err.status).header("www-authenticate", err.challenge).send({ code: err.code });
    });
    app.get<{ Params: { "*": string }; Querystring: { actions: string } }>("/check/*", async (request) =>
      authorize(request, request.params["*"], request.query.actions.split(",").filter(isAction)),
    );
    base = await app.listen({ port: 0, host: "127.0.0.1" });
  });
  afterAll(async () => {
    await app.close();
    await dispose();
  });

  // Over a real socket: fastify's inject loads light-my-request, whose require() of the ESM-only
  // `cookie` 2 jest's module loader cannot follow.
  const check = (repository: string, actions: string, authorization?: string) =>
    fetch(`${base}/check/${repository}?actions=${actions}`, {
      headers: authorization ? { authorization } : {},
    });
  const bearer = (token: string) => `Bearer ${token}`;
  const challenge = (repository: string, actions: string) =>
    `Bearer realm="https://${new URL(base).host}/service/token",service="trustdock",scope="repository:${repository}:${actions}"`;

  it("lets an admin token do what it grants, on the GUN and on its registry path", async () => {
    const token = tokenService.issue({ subject: "admin", access: pullPush });
    const push = await check(GUN, "pull,push", bearer(token));
    expect(push.status).toBe(200);
    expect(await push.json()).toEqual({ subject: "admin" });
    expect((await check("library/app", "pull", bearer(token))).status).toBe(200);
  });

  it("decides each repository and set of actions on its own when one token asks again and again", async () => {
    const token = tokenService.issue({
      subject: "admin",
      access: [{ type: "repository", name: GUN, actions: ["pull"] }],
    });
    for (let round = 0; round < 2; round++) {
      expect((await check(GUN, "pull", bearer(token))).status).toBe(200);
      const push = await check(GUN, "pull,push", bearer(token));
      expect(push.status).toBe(403);
      expect(push.headers.get("www-authenticate")).toBe(challenge(GUN, "pull,push"));
      expect((await check("library/other", "pull", bearer(token))).status).toBe(403);
    }
  });

  it("lets * stand for every action", async () => {
    const token = tokenService.issue({
      subject: "admin",
      access: [{ type: "repository", name: GUN, actions: ["*"] }],
    });
    expect((await check(GUN, "push", bearer(token))).status).toBe(200);
  });

  it("asks for a token, with the challenge docker follows, when there is none", async () => {
    const response = await check(GUN, "pull", undefined);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ code: "UNAUTHORIZED" });
    expect(response.headers.get("www-authenticate")).toBe(challenge(GUN, "pull"));
  });

  it("refuses a tampered token with 401", async () => {
    const [header, , signature] = tokenService.issue({ subject: "alice", access: [] }).split(".");
    const [, widened] = tokenService.issue({ subject: "admin", access: pullPush }).split(".");
    const response = await check(GUN, "pull", bearer(`${header}.${widened}.${signature}`));
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(challenge(GUN, "pull"));
  });

  it("refuses an expired token with 401", async () => {
    const past = await TokenService.open(db, { now: () => Date.now() - 3_600_000 });
    const response = await check(
      GUN,
      "pull,push",
      bearer(past.issue({ subject: "admin", access: pullPush })),
    );
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(challenge(GUN, "pull,push"));
  });

  it("refuses a token for another audience with 401", async () => {
    const other = await TokenService.open(db, { service: "registry.example" });
    const response = await check(GUN, "pull", bearer(other.issue({ subject: "admin", access: pullPush })));
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(challenge(GUN, "pull"));
  });

  it("denies with 403 a user's token that lacks the action", async () => {
    const pullOnly = tokenService.issue({
      subject: "admin",
      access: [{ type: "repository", name: GUN, actions: ["pull"] }],
    });
    const response = await check(GUN, "push", bearer(pullOnly));
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ code: "DENIED" });
    expect(response.headers.get("www-authenticate")).toBe(challenge(GUN, "push"));
    expect((await check("library/other", "pull", bearer(pullOnly))).status).toBe(403);
  });

  it("answers an anonymous token that lacks the action with 401, so docker retries with credentials", async () => {
    const anonymous = tokenService.issue({ subject: ANONYMOUS, access: [] });
    const response = await check(GUN, "pull", bearer(anonymous));
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ code: "UNAUTHORIZED" });
  });

  it("checks Basic credentials sent straight to a protocol route", async () => {
    const admin = await check(GUN, "pull,push", basic("admin", "admin-secret"));
    expect(admin.status).toBe(200);
    expect(await admin.json()).toEqual({ subject: "admin" });
    expect((await check(GUN, "pull", basic("admin", "wrong"))).status).toBe(401);
    expect((await check("team/app", "pull", basic("outsider", "outsider-secret"))).status).toBe(403);
  });

  it("decides Basic credentials by role", async () => {
    const guest = basic("guest", "guest-secret");
    expect(await (await check("team/app", "pull", guest)).json()).toEqual({ subject: "guest" });
    expect((await check("team/app", "pull,push", guest)).status).toBe(403);
    expect((await check("team/app", "push", basic("developer", "developer-secret"))).status).toBe(200);
    expect((await check("team/app", "delete", basic("developer", "developer-secret"))).status).toBe(403);
    expect((await check("team/app", "*", basic("maintainer", "maintainer-secret"))).status).toBe(200);
    expect((await check("nosuchproject/app", "push", basic("admin", "admin-secret"))).status).toBe(403);
  });

  it("lets a robot's Basic credentials do what it was given, in its own project only", async () => {
    const { ci, reader } = world.robots;
    const push = await check("127.0.0.1:5000/team/app", "pull,push", basic(ci.name, ci.secret));
    expect(push.status).toBe(200);
    expect(await push.json()).toEqual({ subject: "robot$team+ci" });
    expect((await check("team/app", "push", basic(reader.name, reader.secret))).status).toBe(403);
    expect((await check("elsewhere/app", "pull", basic(ci.name, ci.secret))).status).toBe(403);
  });

  it("refuses an expired or disabled robot with 401", async () => {
    for (const robot of [world.robots.expired, world.robots.disabled]) {
      const response = await check("team/app", "pull", basic(robot.name, robot.secret));
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe(challenge("team/app", "pull"));
    }
  });
});
