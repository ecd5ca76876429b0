import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TRUSTDOCK_BIN } from "../support/cli.js";
import { loadImage, runDocker, scratchDockerEnv } from "../support/docker.js";
import { describeWithPeer, dockerDaemonAnswers } from "../support/peers.js";
import { freePort, killGroup, waitFor } from "../support/processes.js";
import { skopeoAndMkimgExist } from "../support/skopeo.js";
import { ADMIN_PASSWORD } from "../support/trustdock.js";

// `trustdock up --plain-http`, as behind a proxy that terminates TLS (Harbor's nginx, an ingress): plain
// HTTP on the listening port, the token realm following the proxy's X-Forwarded-Proto and -Host, and a real
// docker daemon logging in, pushing and pulling through it (it takes loopback registries as insecure and
// falls back to plain HTTP).

const TEST_TIMEOUT_MS = 180_000;

describe("trustdock up --plain-http", () => {
  let dataDir: string;
  let server: ChildProcess | undefined;
  let hostPort: string;
  let url: string;
  let output = "";

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "trustdock-plain-http-"));
    const [port, signerPort] = [await freePort(), await freePort()];
    hostPort = `127.0.0.1:${port}`;
    url = `http://${hostPort}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TRUSTDOCK_DATA_DIR: dataDir,
      TRUSTDOCK_ADDR: hostPort,
      TRUSTDOCK_SIGNER_ADDR: `127.0.0.1:${signerPort}`,
      TRUSTDOCK_ADMIN_PASSWORD: ADMIN_PASSWORD,
      TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT: "plain-http-passphrase",
    };
    delete env.TRUSTDOCK_DATABASE_URL;
    delete env.TRUSTDOCK_PLAIN_HTTP;
    server = spawn(process.execPath, [TRUSTDOCK_BIN, "up", "--plain-http"], {
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    server.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    server.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    await waitFor(
      `${url}/v2/ answering`,
      async () => ((await fetch(`${url}/v2/`)).status === 401 ? true : undefined),
      60_000,
    );
  }, 90_000);
  afterAll(() => {
    if (server) killGroup(server, "SIGTERM");
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const challenge = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}${path}`, { headers });
    expect(res.status).toBe(401);
    return res.headers.get("www-authenticate");
  };

  it("says it serves plain HTTP", () => {
    expect(output).toContain(`Trustdock is serving at ${url}`);
  });

  it("points clients at the token service over plain HTTP when no proxy says otherwise", async () => {
    expect(await challenge("/v2/")).toBe(`Bearer realm="${url}/service/token",service="trustdock"`);
  });

  it("points clients at the scheme and host the proxy forwarded, for the ping and for a repository", async () => {
    const proxy = { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "registry.example.com" };
    expect(await challenge("/v2/", proxy)).toBe(
      'Bearer realm="https://registry.example.com/service/token",service="trustdock"',
    );
    expect(await challenge("/v2/library/app/manifests/latest", proxy)).toBe(
      'Bearer realm="https://registry.example.com/service/token",service="trustdock",scope="repository:library/app:pull"',
    );
  });

  it("keeps token auth: the token service's tokens let a client in, nothing else does", async () => {
    const basic = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}`;
    const res = await fetch(`${url}/service/token?service=trustdock&scope=repository:library/app:pull,push`, {
      headers: { Authorization: basic },
    });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    expect((await fetch(`${url}/v2/`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${url}/v2/`, { headers: { Authorization: "Bearer not-a-token" } })).status).toBe(
      401,
    );
  });

  describeWithPeer(
    "a docker daemon (bash ../shared/peers/dockerd-up.sh), skopeo and mkimg.sh",
    dockerDaemonAnswers() && skopeoAndMkimgExist(),
    "docker through the plain-HTTP listener",
    () => {
      const suffix = randomBytes(4).toString("hex");
      const local = `trustdock-plain-http-${suffix}:latest`;
      let remote: string;
      let scratch: string;
      let env: NodeJS.ProcessEnv;

      const docker = (args: string[], input?: string) => runDocker(env, args, input);

      it(
        "logs in, pushes, and pulls back the image with the same digest and image ID",
        async () => {
          scratch = mkdtempSync(join(tmpdir(), "trustdock-plain-http-docker-"));
          env = scratchDockerEnv(scratch);
          remote = `${hostPort}/library/plain-${suffix}:v1`;
          try {
            await loadImage(env, scratch, local, `hello over plain HTTP ${suffix}`);

            const login = await docker(
              ["login", "-u", "admin", "--password-stdin", hostPort],
              ADMIN_PASSWORD,
            );
            expect(login).toContain("Login Succeeded");
            const imageId = (await docker(["inspect", "--format", "{{.Id}}", local])).trim();
            await docker(["tag", local, remote]);
            const pushed = await docker(["push", remote]);
            const digest = /v1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(pushed)?.[1];
            expect(digest).toBeDefined();

            await docker(["rmi", remote, local]);
            const pulled = await docker(["pull", remote]);
            expect(pulled).toContain(`Digest: ${digest}`);
            expect((await docker(["inspect", "--format", "{{.Id}}", remote])).trim()).toBe(imageId);
          } finally {
            await docker(["rmi", "--force", local, remote]).catch(() => {});
            rmSync(scratch, { recursive: true, force: true });
          }
        },
        TEST_TIMEOUT_MS,
      );
    },
  );
});
