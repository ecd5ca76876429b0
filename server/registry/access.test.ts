import { describeOnEachDatabase } from "../../test/support/databases.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";
import { OCI_MANIFEST } from "./manifest-format.js";
import {
  buildHarborAccessWorld,
  type Credentials,
  type HarborAccessWorld,
} from "./testing/harbor-access-world.js";
import {
  basicAuth,
  type PushedManifest,
  type RegistryClient,
  type RegistryReply,
  registryClient,
  sha256,
} from "./testing/registry-client.js";

// Who may pull, push and delete, seen as a registry client sees it: the status, the spec's error body and
// the Bearer challenge, for credentials sent straight to the registry (Basic) and for tokens from the
// token service (what docker and skopeo do). The same cases through real clients: test/interop/registry-access.

const ADMIN_BASIC = basicAuth("admin", ADMIN_PASSWORD);
const basic = ({ username, password }: Credentials) => basicAuth(username, password);

describeOnEachDatabase("registry access by role, robot and project visibility", (databases) => {
  const suite = trustdockForSuite(databases);
  let td: TestTrustdock;
  let world: HarborAccessWorld;
  let admin: RegistryClient;
  let repo: { private: string; public: string; other: string };
  let image: { private: PushedManifest; public: PushedManifest; other: PushedManifest };

  beforeAll(async () => {
    td = suite.td;
    world = await buildHarborAccessWorld(td.app, td.db, ADMIN_PASSWORD);
    admin = registryClient(td.app, ADMIN_BASIC);
    repo = {
      private: `${world.projects.private}/app`,
      public: `${world.projects.public}/app`,
      other: `${world.projects.other}/app`,
    };
    image = {
      private: await admin.pushImage(repo.private, "v1", { content: "private" }),
      public: await admin.pushImage(repo.public, "v1", { content: "public" }),
      other: await admin.pushImage(repo.other, "v1", { content: "other" }),
    };
  });

  const as = (authorization: string | null) => registryClient(td.app, authorization ?? "");

  /** A token from the token service for `scope`, as `authorization` or anonymously. */
  async function tokenFor(scope: string, authorization: string | null): Promise<string> {
    const res = await as(authorization).call(
      "GET",
      `/service/token?service=trustdock&scope=${encodeURIComponent(scope)}`,
    );
    expect(res.status).toBe(200);
    return `Bearer ${res.json<{ token: string }>().token}`;
  }

  /** The spec's error body with exactly one error of `code`, and for 401 the challenge docker follows. */
  function expectRefused(res: RegistryReply, status: 401 | 403, repository: string, actions: string) {
    const code = status === 401 ? "UNAUTHORIZED" : "DENIED";
    expect([res.status, res.headers["content-type"]]).toEqual([status, "application/json; charset=utf-8"]);
    const body = res.json();
    expect(body.errors).toEqual([expect.objectContaining({ code, message: expect.any(String) })]);
    expect(body.errors[0]?.message).not.toBe("");
    // The access refused, as distribution details it; without a detail docker prints the bare code.
    expect(body.errors[0]?.detail).toEqual(
      actions.split(",").map((Action) => ({ Type: "repository", Class: "", Name: repository, Action })),
    );
    if (status === 401) {
      expect(res.headers["www-authenticate"]).toMatch(
        new RegExp(
          `^Bearer realm="https://[^"]+/service/token",service="trustdock",scope="repository:${repository}:${actions}"$`,
        ),
      );
    }
  }

  /** A blob upload and a manifest push to `repository`, both refused; neither left anything behind. */
  async function expectPushRefused(
    authorization: string,
    status: 401 | 403,
    repository: string,
  ): Promise<void> {
    const client = as(authorization);
    const layer = `refused layer ${Math.random()}`;
    const upload = await client.call("POST", `/v2/${repository}/blobs/uploads/?digest=${sha256(layer)}`, {
      headers: { "content-type": "application/octet-stream" },
      body: layer,
    });
    expectRefused(upload, status, repository, "pull,push");
    const start = await client.call("POST", `/v2/${repository}/blobs/uploads/`);
    expectRefused(start, status, repository, "pull,push");
    const manifest = await client.call("PUT", `/v2/${repository}/manifests/refused`, {
      headers: { "content-type": OCI_MANIFEST },
      body: image.private.bytes,
    });
    expectRefused(manifest, status, repository, "pull,push");

    expect((await admin.call("HEAD", `/v2/${repository}/blobs/${sha256(layer)}`)).status).toBe(404);
    expect((await admin.call("HEAD", `/v2/${repository}/manifests/refused`)).status).toBe(404);
    const tags = await admin.call("GET", `/v2/${repository}/tags/list`);
    expect(tags.json<{ tags: string[] }>().tags).not.toContain("refused");
  }

  /** A manifest and blob GET of `repository`'s v1, both refused. */
  async function expectPullRefused(
    authorization: string | null,
    status: 401 | 403,
    repository: string,
    pushed: PushedManifest,
  ): Promise<void> {
    const client = as(authorization);
    expectRefused(await client.call("GET", `/v2/${repository}/manifests/v1`), status, repository, "pull");
    expectRefused(
      await client.call("HEAD", `/v2/${repository}/manifests/${pushed.digest}`),
      status,
      repository,
      "pull",
    );
    const config = JSON.parse(pushed.bytes.toString()).config.digest as string;
    expectRefused(await client.call("GET", `/v2/${repository}/blobs/${config}`), status, repository, "pull");
    expectRefused(await client.call("GET", `/v2/${repository}/tags/list`), status, repository, "pull");
  }

  async function expectPullServed(authorization: string, repository: string, pushed: PushedManifest) {
    const res = await as(authorization).call("GET", `/v2/${repository}/manifests/v1`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(pushed.bytes);
  }

  it("refuses an anonymous pull of a private project with 401 UNAUTHORIZED and the challenge", async () => {
    await expectPullRefused(null, 401, repo.private, image.private);
    // The token service gives anonymous callers a token, but nothing in it for a private project.
    const anonymous = await tokenFor(`repository:${repo.private}:pull`, null);
    await expectPullRefused(anonymous, 401, repo.private, image.private);
  });

  it("serves an anonymous pull of a public project through an anonymous token, and refuses its push", async () => {
    // No credentials at all: 401 with the challenge that sends docker for an anonymous token.
    expectRefused(await as(null).call("GET", `/v2/${repo.public}/manifests/v1`), 401, repo.public, "pull");
    const anonymous = await tokenFor(`repository:${repo.public}:pull,push`, null);
    await expectPullServed(anonymous, repo.public, image.public);
    await expectPushRefused(anonymous, 401, repo.public);
  });

  it("lets a guest pull and refuses the guest's push with 403 DENIED, storing nothing", async () => {
    const guest = world.users.guest;
    await expectPullServed(basic(guest), repo.private, image.private);
    await expectPushRefused(basic(guest), 403, repo.private);
    const token = await tokenFor(`repository:${repo.private}:pull,push`, basic(guest));
    await expectPullServed(token, repo.private, image.private);
    await expectPushRefused(token, 403, repo.private);
  });

  it("refuses a user of no project with 403 DENIED in a private project", async () => {
    const outsider = world.users.outsider;
    await expectPullRefused(basic(outsider), 403, repo.private, image.private);
    const token = await tokenFor(`repository:${repo.private}:pull,push`, basic(outsider));
    await expectPullRefused(token, 403, repo.private, image.private);
  });

  it("lets a developer push, by Basic credentials and by token, but not delete", async () => {
    const developer = basic(world.users.developer);
    const byBasic = await as(developer).pushImage(repo.private, "by-developer", { content: "developer" });
    expect(byBasic.reply.status).toBe(201);
    const token = await tokenFor(`repository:${repo.private}:pull,push,delete`, developer);
    const byToken = await as(token).pushImage(repo.private, "by-developer-token", { content: "token" });
    expect(byToken.reply.status).toBe(201);
    await expectPullServed(basic(world.users.guest), repo.private, image.private);
    expect((await admin.call("GET", `/v2/${repo.private}/manifests/by-developer`)).body).toEqual(
      byBasic.bytes,
    );

    for (const authorization of [developer, token]) {
      const res = await as(authorization).call("DELETE", `/v2/${repo.private}/manifests/${byBasic.digest}`);
      expectRefused(res, 403, repo.private, "delete");
    }
    expect((await admin.call("HEAD", `/v2/${repo.private}/manifests/by-developer`)).status).toBe(200);
  });

  it("lets a maintainer delete a manifest, by Basic credentials and by token", async () => {
    const maintainer = basic(world.users.maintainer);
    const first = await admin.pushImage(repo.private, "doomed-1", { content: "doomed 1" });
    const second = await admin.pushImage(repo.private, "doomed-2", { content: "doomed 2" });
    const token = await tokenFor(`repository:${repo.private}:delete`, maintainer);
    for (const [authorization, pushed] of [
      [maintainer, first],
      [token, second],
    ] as const) {
      const res = await as(authorization).call("DELETE", `/v2/${repo.private}/manifests/${pushed.digest}`);
      expect(res.status).toBe(202);
      expect((await admin.call("HEAD", `/v2/${repo.private}/manifests/${pushed.digest}`)).status).toBe(404);
    }
  });

  it("lets a robot push and pull in its project, as its permissions say", async () => {
    const pusher = basic(world.robots.pusher);
    const pushed = await as(pusher).pushImage(repo.private, "by-robot", { content: "robot" });
    expect(pushed.reply.status).toBe(201);
    await expectPullServed(pusher, repo.private, image.private);
    const token = await tokenFor(`repository:${repo.private}:pull,push`, pusher);
    expect((await as(token).pushImage(repo.private, "by-robot-token", { content: "t" })).reply.status).toBe(
      201,
    );

    const reader = basic(world.robots.reader);
    await expectPullServed(reader, repo.private, image.private);
    await expectPushRefused(reader, 403, repo.private);
  });

  it("refuses a robot outside its project with 403 DENIED, pull and push", async () => {
    const pusher = basic(world.robots.pusher);
    await expectPullRefused(pusher, 403, repo.other, image.other);
    await expectPushRefused(pusher, 403, repo.other);
    // A public project lets it pull, as it lets anyone, but not push.
    await expectPullServed(pusher, repo.public, image.public);
    await expectPushRefused(pusher, 403, repo.public);

    const token = await tokenFor(`repository:${repo.other}:pull,push`, pusher);
    await expectPullRefused(token, 403, repo.other, image.other);
    await expectPushRefused(token, 403, repo.other);
  });

  it("refuses an expired robot with 401 UNAUTHORIZED, even in its own project, and gives it no token", async () => {
    const expired = basic(world.robots.expired);
    await expectPullRefused(expired, 401, repo.private, image.private);
    await expectPushRefused(expired, 401, repo.private);
    const token = await as(expired).call(
      "GET",
      `/service/token?service=trustdock&scope=${encodeURIComponent(`repository:${repo.private}:pull`)}`,
    );
    expect(token.status).toBe(401);
    expect(token.json<{ errors: Array<{ code: string }> }>().errors[0]?.code).toBe("UNAUTHORIZED");
  });
});
