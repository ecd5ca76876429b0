import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { adminToken, httpsRequest } from "../support/http.js";
import { commandExists, describeWithPeer } from "../support/peers.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../support/trustdock.js";

const execFileAsync = promisify(execFile);

const COMMAND_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = 120_000;

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion with stdin closed; a non-zero exit is a result to assert on. */
async function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const pending = execFileAsync(file, args, { env, timeout: COMMAND_TIMEOUT_MS, encoding: "utf8" });
  pending.child.stdin?.end();
  try {
    const { stdout, stderr } = await pending;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

async function runOk(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const r = await run(file, args, env);
  if (r.code !== 0)
    throw new Error(`${file} ${args.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** The shape `docker trust inspect` prints: one entry per repository asked about. */
interface TrustInspection {
  Name: string;
  SignedTags: Array<{ SignedTag: string; Digest: string; Signers: string[] }>;
  Signers: Array<{ Name: string; Keys: Array<{ ID: string }> }>;
  AdministrativeKeys: Array<{ Name: string; Keys: Array<{ ID: string }> }>;
}

interface SignedRoot {
  signed: { roles: Record<string, { keyids: string[] }> };
}

describeWithPeer(
  "docker CLI and notary CLI",
  commandExists("docker") && commandExists("notary"),
  "docker trust inspect against Trustdock",
  () => {
    let td: TestTrustdock;
    let scratch: string;
    let home: string;
    let dockerConfig: string;

    beforeAll(async () => {
      td = await startTestTrustdock();
      scratch = mkdtempSync(join(tmpdir(), "trustdock-docker-trust-"));
      home = mkdtempSync(join(scratch, "home-"));
      // What `docker login` and a private CA install leave behind: credentials for the registry host and
      // the CA docker trusts for that host, which is also where it looks for the trust server.
      dockerConfig = mkdtempSync(join(scratch, "docker-config-"));
      mkdirSync(join(dockerConfig, "tls", td.hostPort), { recursive: true });
      copyFileSync(td.tls.caCert, join(dockerConfig, "tls", td.hostPort, "ca.crt"));
      const auth = Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64");
      writeFileSync(
        join(dockerConfig, "config.json"),
        JSON.stringify({ auths: { [td.hostPort]: { auth } } }),
      );
    });

    afterAll(async () => {
      await td?.close();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    const baseEnv = () => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home });
    const dockerEnv = (): NodeJS.ProcessEnv => ({ ...baseEnv(), DOCKER_CONFIG: dockerConfig });

    /** Publishes `content` as the target `latest` with the notary CLI, from a trust dir of its own. */
    async function publishLatest(gun: string, content: Buffer): Promise<void> {
      const trustDir = mkdtempSync(join(scratch, "trust-"));
      const payload = join(trustDir, "payload.bin");
      writeFileSync(payload, content);
      const env: NodeJS.ProcessEnv = {
        ...baseEnv(),
        NOTARY_AUTH: Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64"),
        NOTARY_ROOT_PASSPHRASE: "root-passphrase",
        NOTARY_TARGETS_PASSPHRASE: "targets-passphrase",
        NOTARY_SNAPSHOT_PASSPHRASE: "snapshot-passphrase",
      };
      const notary = (args: string[]) =>
        runOk("notary", ["-s", td.url, "-d", trustDir, "--tlscacert", td.tls.caCert, ...args], env);
      await notary(["init", gun]);
      await notary(["add", gun, "latest", payload]);
      await notary(["publish", gun]);
    }

    it(
      "shows the signed tag, its digest and the repository's keys to docker trust inspect",
      async () => {
        const gun = `${td.hostPort}/library/inspect-${randomBytes(3).toString("hex")}`;
        const content = Buffer.from(`not really an image manifest ${randomBytes(8).toString("hex")}\n`);
        const digest = createHash("sha256").update(content).digest("hex");
        await publishLatest(gun, content);

        const r = await runOk("docker", ["trust", "inspect", `${gun}:latest`], dockerEnv());

        const [inspection, ...others] = JSON.parse(r.stdout) as TrustInspection[];
        expect(others).toHaveLength(0);
        expect(inspection?.Name).toBe(`${gun}:latest`);
        // A tag in the top-level targets role is signed by whoever holds the repository key.
        expect(inspection?.SignedTags).toEqual([
          { SignedTag: "latest", Digest: digest, Signers: ["Repo Admin"] },
        ]);
        expect(inspection?.Signers).toEqual([]);
        const root = await fetchRoot(gun);
        expect(inspection?.AdministrativeKeys).toEqual([
          { Name: "Root", Keys: (root.signed.roles.root?.keyids ?? []).map((ID) => ({ ID })) },
          { Name: "Repository", Keys: (root.signed.roles.targets?.keyids ?? []).map((ID) => ({ ID })) },
        ]);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "lists the signed tag in docker trust inspect --pretty",
      async () => {
        const gun = `${td.hostPort}/library/pretty-${randomBytes(3).toString("hex")}`;
        const content = Buffer.from(`pretty ${randomBytes(8).toString("hex")}\n`);
        const digest = createHash("sha256").update(content).digest("hex");
        await publishLatest(gun, content);

        const r = await runOk("docker", ["trust", "inspect", "--pretty", gun], dockerEnv());

        expect(r.stdout).toContain(`Signatures for ${gun}`);
        const row = r.stdout.split("\n").find((line) => line.startsWith("latest "));
        expect(row?.split(/\s+/)).toEqual(["latest", digest, "(Repo", "Admin)"]);
        expect(r.stdout).toContain(`Administrative keys for ${gun}`);
      },
      TEST_TIMEOUT_MS,
    );

    /** The root.json Trustdock serves, read with an admin token the way a client would. */
    async function fetchRoot(gun: string): Promise<SignedRoot> {
      const token = await adminToken(td, `repository:${gun}:pull`);
      const res = await httpsRequest({
        url: `${td.url}/v2/${gun}/_trust/tuf/root.json`,
        headers: { authorization: `Bearer ${token}` },
        ca: readFileSync(td.tls.caCert),
      });
      if (res.status !== 200) throw new Error(`GET root.json: ${res.status} ${res.body.toString()}`);
      return JSON.parse(res.body.toString()) as SignedRoot;
    }
  },
);
