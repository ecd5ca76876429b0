import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  buildHarborAccessWorld,
  type Credentials,
  type HarborAccessWorld,
} from "../../server/registry/testing/harbor-access-world.js";
import { basicAuth, registryClient } from "../../server/registry/testing/registry-client.js";
import { commandExists, describeWithPeer, dockerDaemonAnswers } from "../support/peers.js";
import { sharedDir } from "../support/shared.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../support/trustdock.js";

// Who may pull, push and delete, as docker and skopeo users meet it: what the client prints when it is
// refused, and that the allowed cases work in the same setup. The status codes and error bodies behind
// these messages: server/registry/access.test.ts.

const execFileAsync = promisify(execFile);
const MKIMG = join(sharedDir, "peers", "mkimg.sh");
const TEST_TIMEOUT_MS = 180_000;
const ADMIN = { username: "admin", password: ADMIN_PASSWORD };
// docker's words for a refused push; it stops there rather than retrying the layer upload five times.
const REFUSED_AT_ONCE = /^(?![\s\S]*Retrying)[\s\S]*denied: requested access to the resource is denied/;
// What the token service says to credentials it refuses, and skopeo's words around it.
const REFUSED_CREDENTIALS =
  "unauthorized: incorrect username or password, or the account is disabled or expired";
const EXPIRED = new RegExp(
  `unable to retrieve auth token: invalid username/password: ${REFUSED_CREDENTIALS}`,
);

/** How a client run ended: its exit status and everything it printed. */
interface Outcome {
  ok: boolean;
  output: string;
}

async function run(file: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Outcome> {
  const pending = execFileAsync(file, args, { env, timeout: 120_000, encoding: "utf8" });
  pending.child.stdin?.end(input);
  try {
    const { stdout, stderr } = await pending;
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` || e.message };
  }
}

/** `outcome` succeeded; otherwise fails with what the client printed. */
function expectSucceeded(what: string, outcome: Outcome): string {
  expect([what, outcome.ok ? "succeeded" : outcome.output]).toEqual([what, "succeeded"]);
  return outcome.output;
}

/** `outcome` failed, printing a line that matches `message`. */
function expectFailed(what: string, outcome: Outcome, message: RegExp): void {
  expect([what, outcome.ok]).toEqual([what, false]);
  expect(outcome.output).toMatch(message);
}

describeWithPeer(
  "a docker daemon (bash ../shared/peers/dockerd-up.sh), skopeo and mkimg.sh",
  dockerDaemonAnswers() && commandExists("skopeo") && existsSync(MKIMG),
  "registry access through docker and skopeo",
  () => {
    let td: TestTrustdock;
    let world: HarborAccessWorld;
    let scratch: string;
    let certDir: string;
    let layout: string;
    // The daemon is shared with whatever else runs on this machine: every name here is this run's own.
    const suffix = randomBytes(4).toString("hex");
    const local = `trustdock-access-${suffix}:latest`;
    const tagged: string[] = [];
    let repo: { private: string; public: string; other: string };

    const ref = (repository: string, tag: string) => `${td.hostPort}/${repository}:${tag}`;

    /** The docker CLI with a config folder of its own per caller, logged in unless anonymous. */
    const dockers = new Map<string, (args: string[]) => Promise<Outcome>>();
    async function dockerAs(who: Credentials | null): Promise<(args: string[]) => Promise<Outcome>> {
      const key = who?.username ?? "anonymous";
      const known = dockers.get(key);
      if (known) return known;
      const home = join(scratch, `docker-${dockers.size}`);
      const env = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: home,
        DOCKER_CONFIG: join(home, "config"),
      };
      const docker = (args: string[], input?: string) => run("docker", args, env, input);
      if (who) {
        const login = await docker(
          ["login", "-u", who.username, "--password-stdin", td.hostPort],
          who.password,
        );
        expect(expectSucceeded(`docker login as ${who.username}`, login)).toContain("Login Succeeded");
      }
      dockers.set(key, docker);
      return docker;
    }

    /** docker push of the test image to `repository:tag`, as `who`. */
    async function dockerPush(who: Credentials | null, repository: string, tag: string): Promise<Outcome> {
      const docker = await dockerAs(who);
      const target = ref(repository, tag);
      expectSucceeded(`docker tag ${target}`, await docker(["tag", local, target]));
      tagged.push(target);
      return docker(["push", target]);
    }

    const skopeo = (args: string[]) => run("skopeo", args, { PATH: process.env.PATH ?? "/usr/bin:/bin" });
    const credsOf = (who: Credentials | null) =>
      who ? ["--creds", `${who.username}:${who.password}`] : ["--no-creds"];
    const skopeoCopyIn = (who: Credentials | null, repository: string, tag: string) =>
      skopeo([
        "copy",
        ...(who ? ["--dest-creds", `${who.username}:${who.password}`] : ["--dest-no-creds"]),
        "--dest-cert-dir",
        certDir,
        `oci:${layout}:latest`,
        `docker://${ref(repository, tag)}`,
      ]);
    const skopeoInspect = (who: Credentials | null, repository: string, tag: string) =>
      skopeo(["inspect", ...credsOf(who), "--cert-dir", certDir, `docker://${ref(repository, tag)}`]);
    const skopeoDelete = (who: Credentials | null, reference: string) =>
      skopeo(["delete", ...credsOf(who), "--cert-dir", certDir, `docker://${reference}`]);

    /** Whether the registry holds `repository:tag`, asked as the admin. */
    async function stored(repository: string, tag: string): Promise<boolean> {
      const admin = registryClient(td.app, basicAuth("admin", ADMIN_PASSWORD));
      const res = await admin.call("HEAD", `/v2/${repository}/manifests/${tag}`);
      return res.status === 200;
    }

    beforeAll(async () => {
      td = await startTestTrustdock();
      world = await buildHarborAccessWorld(td.app, td.db, ADMIN_PASSWORD);
      repo = {
        private: `${world.projects.private}/app`,
        public: `${world.projects.public}/app`,
        other: `${world.projects.other}/app`,
      };
      scratch = mkdtempSync(join(tmpdir(), "trustdock-registry-access-"));
      // skopeo trusts every *.crt in --cert-dir as a CA for the registry; docker takes loopback as insecure.
      certDir = join(scratch, "certs");
      mkdirSync(certDir);
      copyFileSync(td.tls.caCert, join(certDir, "ca.crt"));
      layout = join(scratch, "layout");
      await execFileAsync("bash", [MKIMG, layout, `hello from registry access ${suffix}`]);
      const archive = join(scratch, "image.tar");
      await execFileAsync("skopeo", ["copy", `oci:${layout}:latest`, `docker-archive:${archive}:${local}`]);
      const docker = await dockerAs(null);
      expectSucceeded("docker load", await docker(["load", "-i", archive]));
      tagged.push(local);
      for (const repository of Object.values(repo)) {
        expectSucceeded(`seeding ${repository}`, await skopeoCopyIn(ADMIN, repository, "v1"));
      }
    }, TEST_TIMEOUT_MS);
    afterAll(async () => {
      if (scratch && tagged.length > 0) {
        await run("docker", ["rmi", "--force", ...tagged], { PATH: process.env.PATH ?? "/usr/bin:/bin" });
      }
      await td?.close();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    it(
      "refuses an anonymous pull of a private project, and serves one of a public project",
      async () => {
        const docker = await dockerAs(null);
        const privateRef = ref(repo.private, "v1");
        const refused = await docker(["pull", privateRef]);
        expectFailed(
          "anonymous docker pull of a private project",
          refused,
          /Error response from daemon: unauthorized: authentication required/,
        );
        const inspect = await skopeoInspect(null, repo.private, "v1");
        expectFailed(
          "anonymous skopeo inspect of a private project",
          inspect,
          /reading manifest v1 in [^ ]+: unauthorized: authentication required/,
        );

        const publicRef = ref(repo.public, "v1");
        tagged.push(publicRef);
        const pulled = expectSucceeded(
          "anonymous docker pull of a public project",
          await docker(["pull", publicRef]),
        );
        expect(pulled).toMatch(/Digest: sha256:[0-9a-f]{64}/);
        expectSucceeded(
          "anonymous skopeo inspect of a public project",
          await skopeoInspect(null, repo.public, "v1"),
        );
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "refuses a guest's push and stores nothing; a developer's push goes through",
      async () => {
        const guestPush = await dockerPush(world.users.guest, repo.private, "by-guest");
        expectFailed("docker push by a guest", guestPush, REFUSED_AT_ONCE);
        const guestCopy = await skopeoCopyIn(world.users.guest, repo.private, "by-guest");
        expectFailed(
          "skopeo copy by a guest",
          guestCopy,
          /uploading manifest by-guest to [^ ]+: denied: requested access to the resource is denied/,
        );
        expect(await stored(repo.private, "by-guest")).toBe(false);

        expectSucceeded(
          "docker push by a developer",
          await dockerPush(world.users.developer, repo.private, "by-developer"),
        );
        expect(await stored(repo.private, "by-developer")).toBe(true);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "lets a robot push in its own project and refuses it pulls and pushes elsewhere",
      async () => {
        const robot = world.robots.pusher;
        expectSucceeded(
          "docker push by a robot in its project",
          await dockerPush(robot, repo.private, "by-robot"),
        );
        expect(await stored(repo.private, "by-robot")).toBe(true);
        const docker = await dockerAs(robot);
        tagged.push(ref(repo.private, "v1"));
        expectSucceeded(
          "docker pull by a robot in its project",
          await docker(["pull", ref(repo.private, "v1")]),
        );

        const push = await dockerPush(robot, repo.other, "by-robot");
        expectFailed("docker push by a robot outside its project", push, REFUSED_AT_ONCE);
        const pull = await docker(["pull", ref(repo.other, "v1")]);
        expectFailed(
          "docker pull by a robot outside its project",
          pull,
          /pull access denied for [^ ]+\/other-[0-9a-f]+\/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied/,
        );
        const copy = await skopeoCopyIn(robot, repo.other, "by-robot");
        expectFailed(
          "skopeo copy by a robot outside its project",
          copy,
          /failed to read from destination repository other-[0-9a-f]+\/app: 403 \(Forbidden\)/,
        );
        const inspect = await skopeoInspect(robot, repo.other, "v1");
        expectFailed(
          "skopeo inspect by a robot outside its project",
          inspect,
          /reading manifest v1 in [^ ]+: denied: requested access to the resource is denied/,
        );
        expect(await stored(repo.other, "by-robot")).toBe(false);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "refuses an expired robot at docker login, and skopeo's pull and push",
      async () => {
        const expired = world.robots.expired;
        const home = join(scratch, "docker-expired");
        const env = {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: home,
          DOCKER_CONFIG: join(home, "config"),
        };
        const login = await run(
          "docker",
          ["login", "-u", expired.username, "--password-stdin", td.hostPort],
          env,
          expired.password,
        );
        expectFailed(
          "docker login of an expired robot",
          login,
          new RegExp(`Error response from daemon: Get "https://[^"]+/v2/": ${REFUSED_CREDENTIALS}`),
        );
        const inspect = await skopeoInspect(expired, repo.private, "v1");
        expectFailed("skopeo inspect by an expired robot", inspect, EXPIRED);
        const copy = await skopeoCopyIn(expired, repo.private, "by-expired");
        expectFailed("skopeo copy by an expired robot", copy, EXPIRED);
        expect(await stored(repo.private, "by-expired")).toBe(false);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "refuses docker push and pull of a robot that expired after its docker login",
      async () => {
        const robot = world.robots.expired;
        // The robot's expiry follows from its creation time and its duration of one day.
        const createdAgo = (interval: string) =>
          td.db.query(
            `UPDATE robots SET created_at = now() - $2::interval
             WHERE name = 'expired' AND project_id = (SELECT id FROM projects WHERE name = $1)`,
            [world.projects.private, interval],
          );
        await createdAgo("0 days");
        const docker = await dockerAs(robot);
        await createdAgo("2 days");

        const push = await dockerPush(robot, repo.private, "after-expiry");
        // At once: a refusal docker cannot read it would retry five times.
        expectFailed(
          "docker push by a robot that expired",
          push,
          new RegExp(`^(?![\\s\\S]*Retrying)[\\s\\S]*${REFUSED_CREDENTIALS}`),
        );
        const pull = await docker(["pull", ref(repo.private, "v1")]);
        expectFailed("docker pull by a robot that expired", pull, new RegExp(REFUSED_CREDENTIALS));
        expect(await stored(repo.private, "after-expiry")).toBe(false);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "lets a maintainer delete an image, and refuses a developer's delete",
      async () => {
        expectSucceeded("seeding", await skopeoCopyIn(ADMIN, repo.private, "doomed"));
        const byDeveloper = await skopeoDelete(world.users.developer, ref(repo.private, "doomed"));
        expectFailed(
          "skopeo delete by a developer",
          byDeveloper,
          /Failed to delete [^ ]+:doomed: .*DENIED.*\(403 Forbidden\)/,
        );
        expect(await stored(repo.private, "doomed")).toBe(true);

        expectSucceeded(
          "skopeo delete by a maintainer",
          await skopeoDelete(world.users.maintainer, ref(repo.private, "doomed")),
        );
        expect(await stored(repo.private, "doomed")).toBe(false);
        expectFailed(
          "skopeo inspect after the delete",
          await skopeoInspect(ADMIN, repo.private, "doomed"),
          /manifest unknown/,
        );
      },
      TEST_TIMEOUT_MS,
    );
  },
);
