import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { basicAuth, registryClient } from "../../server/registry/testing/registry-client.js";
import { loadImage, runDocker, scratchDockerEnv } from "../support/docker.js";
import { describeWithPeer, dockerDaemonAnswers } from "../support/peers.js";
import { skopeoAndMkimgExist } from "../support/skopeo.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../support/trustdock.js";

const ADMIN_BASIC = basicAuth("admin", ADMIN_PASSWORD);

const TEST_TIMEOUT_MS = 180_000;

describeWithPeer(
  "a docker daemon (bash ../shared/peers/dockerd-up.sh), skopeo and mkimg.sh",
  dockerDaemonAnswers() && skopeoAndMkimgExist(),
  "docker push and pull against Trustdock's registry",
  () => {
    let td: TestTrustdock;
    let scratch: string;
    let env: NodeJS.ProcessEnv;
    // The daemon is shared with whatever else runs on this machine: every name here is this run's own.
    const suffix = randomBytes(4).toString("hex");
    const local = `trustdock-test-${suffix}:latest`;
    let remote: string;

    const docker = (args: string[], input?: string) => runDocker(env, args, input);

    beforeAll(async () => {
      td = await startTestTrustdock();
      scratch = mkdtempSync(join(tmpdir(), "trustdock-docker-registry-"));
      // A config folder of its own: the login below must not touch the user's credentials.
      env = scratchDockerEnv(scratch);
      remote = `${td.hostPort}/library/docker-${suffix}:v1`;
      await loadImage(env, scratch, local, `hello from docker ${suffix}`);
    });
    afterAll(async () => {
      await docker(["rmi", "--force", local, remote]).catch(() => {});
      await td?.close();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    it(
      "logs in, pushes, and pulls back the image with the same digest and image ID",
      async () => {
        // The daemon takes loopback registries as insecure, so it talks TLS to Trustdock without its CA.
        const login = await docker(["login", "-u", "admin", "--password-stdin", td.hostPort], ADMIN_PASSWORD);
        expect(login).toContain("Login Succeeded");

        const imageId = (await docker(["inspect", "--format", "{{.Id}}", local])).trim();
        await docker(["tag", local, remote]);
        const pushed = await docker(["push", remote]);
        const pushedDigest = /v1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(pushed)?.[1];
        expect(pushedDigest).toBeDefined();

        // The registry holds that manifest under the tag, and its config is the image docker had.
        const registry = registryClient(td.app, ADMIN_BASIC);
        const stored = await registry.call("GET", `/v2/library/docker-${suffix}/manifests/v1`);
        expect(stored.status).toBe(200);
        expect(stored.headers["docker-content-digest"]).toBe(pushedDigest);
        expect(stored.headers["content-type"]).toBe("application/vnd.docker.distribution.manifest.v2+json");
        expect(stored.json<{ config: { digest: string } }>().config.digest).toBe(imageId);

        await docker(["rmi", remote, local]);
        await expect(docker(["inspect", remote])).rejects.toThrow(/No such/);

        const pulled = await docker(["pull", remote]);
        expect(pulled).toContain(`Digest: ${pushedDigest}`);
        expect((await docker(["inspect", "--format", "{{.Id}}", remote])).trim()).toBe(imageId);
        const repoDigests = JSON.parse(
          await docker(["inspect", "--format", "{{json .RepoDigests}}", remote]),
        );
        expect(repoDigests).toContain(`${td.hostPort}/library/docker-${suffix}@${pushedDigest}`);
      },
      TEST_TIMEOUT_MS,
    );
  },
);
