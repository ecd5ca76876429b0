import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NOT_SIGNED_IN_NOTARY } from "../../server/content-trust/pull-policy.js";
import { ProjectStore } from "../../server/projects/project-store.js";
import { loadImage, tryDocker } from "../support/docker.js";
import { describeWithPeer, dockerDaemonAnswers } from "../support/peers.js";
import { skopeoAndMkimgExist } from "../support/skopeo.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../support/trustdock.js";

// DOCKER_CONTENT_TRUST=1 with no DOCKER_CONTENT_TRUST_SERVER: docker signs and verifies through
// https://<registry host:port>, which is Trustdock's own trust API on the registry's port.
describeWithPeer(
  "a docker daemon (bash ../shared/peers/dockerd-up.sh), skopeo and mkimg.sh",
  dockerDaemonAnswers() && skopeoAndMkimgExist(),
  "docker content trust against Trustdock",
  () => {
    let td: TestTrustdock;
    let scratch: string;
    let env: NodeJS.ProcessEnv;
    const suffix = randomBytes(4).toString("hex");
    const locals = [`trustdock-dct-a-${suffix}:latest`, `trustdock-dct-b-${suffix}:latest`];
    let repo: string;

    const docker = async (args: string[], opts: { input?: string; trust?: boolean } = {}) => {
      const trust = opts.trust ? { DOCKER_CONTENT_TRUST: "1" } : {};
      const r = await tryDocker({ ...env, ...trust }, args, opts.input);
      return { ok: r.ok, out: r.stdout + r.stderr };
    };

    beforeAll(async () => {
      td = await startTestTrustdock();
      scratch = mkdtempSync(join(tmpdir(), "trustdock-dct-"));
      env = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: scratch,
        DOCKER_CONFIG: join(scratch, "docker"),
        DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: "root-passphrase",
        DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: "repo-passphrase",
      };
      // docker's trust client verifies the trust server's certificate against this CA.
      mkdirSync(join(scratch, "docker", "tls", td.hostPort), { recursive: true });
      copyFileSync(td.tls.caCert, join(scratch, "docker", "tls", td.hostPort, "ca.crt"));
      repo = `${td.hostPort}/library/dct-${suffix}`;
      for (const [i, local] of locals.entries()) {
        const dir = join(scratch, `image-${i}`);
        mkdirSync(dir);
        await loadImage(env, dir, local, `content trust ${i} ${suffix}`);
      }
      const login = await docker(["login", "-u", "admin", "--password-stdin", td.hostPort], {
        input: ADMIN_PASSWORD,
      });
      expect(login.out).toContain("Login Succeeded");
    }, 180_000);
    afterAll(async () => {
      await docker(["rmi", "--force", ...locals, `${repo}:signed`, `${repo}:unsigned`]);
      await td?.close();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    it("signs on push, pulls the signed tag with content trust, and refuses the unsigned one", async () => {
      expect((await docker(["tag", locals[0] as string, `${repo}:signed`])).ok).toBe(true);
      const signedPush = await docker(["push", `${repo}:signed`], { trust: true });
      expect(signedPush.out).toContain("Successfully signed");
      expect(signedPush.ok).toBe(true);

      expect((await docker(["tag", locals[1] as string, `${repo}:unsigned`])).ok).toBe(true);
      expect((await docker(["push", `${repo}:unsigned`])).ok).toBe(true);

      const inspect = await docker(["trust", "inspect", `${repo}:signed`]);
      expect(inspect.out).toContain('"SignedTag": "signed"');

      expect((await docker(["rmi", `${repo}:signed`, `${repo}:unsigned`])).ok).toBe(true);
      const trustedPull = await docker(["pull", `${repo}:signed`], { trust: true });
      expect(trustedPull.ok).toBe(true);
      expect(trustedPull.out).toMatch(/Pull \(1 of 1\)|Tagging/);
      const untrustedPull = await docker(["pull", `${repo}:unsigned`], { trust: true });
      expect(untrustedPull.ok).toBe(false);
      expect(untrustedPull.out).toMatch(/No valid trust data for unsigned|does not have trust data/);
    }, 240_000);

    it("with the project's content trust on, a plain pull of an unsigned tag fails with Harbor's message", async () => {
      const projects = new ProjectStore(td.db);
      const library = await projects.findByName("library");
      await projects.setMetadata(library?.id ?? 0, { enable_content_trust: "true" });
      try {
        await docker(["rmi", `${repo}:signed`, `${repo}:unsigned`]);
        const refused = await docker(["pull", `${repo}:unsigned`]);
        expect(refused.ok).toBe(false);
        expect(refused.out).toContain(NOT_SIGNED_IN_NOTARY);
        const allowed = await docker(["pull", `${repo}:signed`]);
        expect(allowed.ok).toBe(true);
      } finally {
        await projects.setMetadata(library?.id ?? 0, { enable_content_trust: "false" });
      }
    }, 240_000);
  },
);
