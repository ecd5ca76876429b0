import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

interface ListedTarget {
  name: string;
  digest: string;
  size: number;
  role: string;
}

interface SignedFile {
  signed: {
    version: number;
    roles?: Record<string, { keyids: string[] }>;
    keys?: Record<string, { keytype: string; keyval: { public: string } }>;
  };
  signatures: Array<{ keyid: string }>;
}

/** Runs a command to completion; a non-zero exit is a result to assert on, not an exception. */
async function run(file: string, args: string[], env: NodeJS.ProcessEnv, input = ""): Promise<CommandResult> {
  const pending = execFileAsync(file, args, { env, timeout: COMMAND_TIMEOUT_MS, encoding: "utf8" });
  // Closed stdin: a notary that wants to prompt (for a passphrase or credentials) fails instead of hanging.
  pending.child.stdin?.end(input);
  try {
    const { stdout, stderr } = await pending;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

function describeRun(args: string[], r: CommandResult): string {
  return `notary ${args.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

/** `notary list` prints a header, a dashed rule, then one whitespace-separated row per target. */
function parseList(stdout: string): ListedTarget[] {
  const lines = stdout.split("\n").map((l) => l.trim());
  const rule = lines.findIndex((l) => /^-+(\s+-+)+$/.test(l));
  if (rule < 0) return [];
  return lines
    .slice(rule + 1)
    .filter((l) => l.length > 0)
    .map((l) => {
      const [name = "", digest = "", size = "", role = ""] = l.split(/\s+/);
      return { name, digest, size: Number(size), role };
    });
}

function sha256Hex(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

describeWithPeer("notary CLI", commandExists("notary"), "notary CLI 0.7 against Trustdock", () => {
  let td: TestTrustdock;
  let scratch: string;
  let home: string;

  beforeAll(async () => {
    td = await startTestTrustdock();
    scratch = mkdtempSync(join(tmpdir(), "trustdock-notary-cli-"));
    // notary reads ~/.notary/config.json when present: an empty HOME keeps the machine's out of the test.
    home = mkdtempSync(join(scratch, "home-"));
  });

  afterAll(async () => {
    await td?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const basicAuth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString("base64");

  function notaryEnv(auth = basicAuth("admin", ADMIN_PASSWORD)): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      NOTARY_AUTH: auth,
      NOTARY_ROOT_PASSPHRASE: "root-passphrase",
      NOTARY_TARGETS_PASSPHRASE: "targets-passphrase",
      NOTARY_SNAPSHOT_PASSPHRASE: "snapshot-passphrase",
      NOTARY_DELEGATION_PASSPHRASE: "delegation-passphrase",
    };
  }

  const newDir = (prefix: string) => mkdtempSync(join(scratch, `${prefix}-`));
  const newGun = (name: string) => `${td.hostPort}/library/${name}-${randomBytes(3).toString("hex")}`;

  function notary(trustDir: string, args: string[], opts: { auth?: string; input?: string } = {}) {
    const full = ["-s", td.url, "-d", trustDir, "--tlscacert", td.tls.caCert, ...args];
    return run("notary", full, notaryEnv(opts.auth), opts.input);
  }

  /** Runs notary and fails the test with its output unless it exits 0. */
  async function notaryOk(trustDir: string, args: string[], opts: { input?: string } = {}) {
    const r = await notary(trustDir, args, opts);
    if (r.code !== 0) throw new Error(describeRun(args, r));
    return r;
  }

  /** `notary list` from a trust dir that has never seen the repository: only what the server serves. */
  async function listFresh(gun: string): Promise<ListedTarget[]> {
    const r = await notaryOk(newDir("fresh"), ["list", gun]);
    return parseList(r.stdout);
  }

  function targetFile(content: string): { path: string; data: Buffer } {
    const data = Buffer.from(content);
    const path = join(newDir("payload"), "target.bin");
    writeFileSync(path, data);
    return { path, data };
  }

  /** A repository with its root, targets and snapshot keys in `trustDir`, published once. */
  async function initRepository(gun: string): Promise<string> {
    const trustDir = newDir("trust");
    await notaryOk(trustDir, ["init", gun]);
    await notaryOk(trustDir, ["publish", gun]);
    return trustDir;
  }

  /** GET `<gun>/_trust/tuf/<file>` with an admin token, as a client that already holds one would. */
  async function getMetadata(gun: string, file: string) {
    const token = await adminToken(td, `repository:${gun}:pull,push,*`);
    return httpsRequest({
      url: `${td.url}/v2/${gun}/_trust/tuf/${file}`,
      headers: { authorization: `Bearer ${token}` },
      ca: readFileSync(td.tls.caCert),
    });
  }

  async function getSigned(gun: string, file: string): Promise<SignedFile> {
    const res = await getMetadata(gun, file);
    if (res.status !== 200) throw new Error(`GET ${file}: ${res.status} ${res.body.toString()}`);
    return JSON.parse(res.body.toString()) as SignedFile;
  }

  const signerIds = (file: SignedFile) => file.signatures.map((s) => s.keyid);
  const publicKeyOf = (root: SignedFile, keyId: string | undefined) =>
    keyId === undefined ? undefined : root.signed.keys?.[keyId]?.keyval.public;

  /** The public half of the key the server signs `role` with, as `GET <gun>/_trust/tuf/<role>.key` gives it. */
  async function serverPublicKey(gun: string, role: "snapshot" | "timestamp"): Promise<string> {
    const res = await getMetadata(gun, `${role}.key`);
    if (res.status !== 200) throw new Error(`GET ${role}.key: ${res.status} ${res.body.toString()}`);
    return (JSON.parse(res.body.toString()) as { keyval: { public: string } }).keyval.public;
  }

  it(
    "publishes a target that a fresh client lists with its sha256 and size",
    async () => {
      const gun = newGun("publish");
      const trustDir = await initRepository(gun);
      const payload = targetFile("hello from the notary CLI\n");
      await notaryOk(trustDir, ["add", gun, "v1", payload.path]);
      await notaryOk(trustDir, ["publish", gun]);

      expect(await listFresh(gun)).toEqual([
        { name: "v1", digest: sha256Hex(payload.data), size: payload.data.length, role: "targets" },
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "takes over snapshot and timestamp keys on rotation and keeps serving a listable repository",
    async () => {
      const gun = newGun("rotate");
      const trustDir = await initRepository(gun);
      const first = targetFile("before rotation\n");
      await notaryOk(trustDir, ["add", gun, "v1", first.path]);
      await notaryOk(trustDir, ["publish", gun]);

      await notaryOk(trustDir, ["key", "rotate", gun, "snapshot", "-r"]);
      const second = targetFile("after snapshot rotation\n");
      await notaryOk(trustDir, ["add", gun, "v2", second.path]);
      await notaryOk(trustDir, ["publish", gun]);

      // The snapshot the client could no longer sign is signed with the key the server holds for it.
      const root = await getSigned(gun, "root.json");
      const snapshotKeyIds = root.signed.roles?.snapshot?.keyids ?? [];
      expect(snapshotKeyIds).toHaveLength(1);
      expect(publicKeyOf(root, snapshotKeyIds[0])).toBe(await serverPublicKey(gun, "snapshot"));
      expect(signerIds(await getSigned(gun, "snapshot.json"))).toEqual(snapshotKeyIds);
      expect((await listFresh(gun)).map((t) => [t.name, t.digest])).toEqual([
        ["v1", sha256Hex(first.data)],
        ["v2", sha256Hex(second.data)],
      ]);

      const timestampBefore = signerIds(await getSigned(gun, "timestamp.json"));
      await notaryOk(trustDir, ["key", "rotate", gun, "timestamp", "-r"]);
      const rootAfter = await getSigned(gun, "root.json");
      const timestampKeyIds = rootAfter.signed.roles?.timestamp?.keyids ?? [];
      expect(timestampKeyIds).toHaveLength(1);
      expect(timestampKeyIds).not.toEqual(timestampBefore);
      expect(publicKeyOf(rootAfter, timestampKeyIds[0])).toBe(await serverPublicKey(gun, "timestamp"));
      expect(signerIds(await getSigned(gun, "timestamp.json"))).toEqual(timestampKeyIds);
      expect((await listFresh(gun)).map((t) => t.name)).toEqual(["v1", "v2"]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "serves a delegated role's targets and the delegation to fresh clients",
    async () => {
      const gun = newGun("delegation");
      const trustDir = await initRepository(gun);
      const keyDir = newDir("delegation-key");
      const keyPath = join(keyDir, "releases.key");
      const certPath = join(keyDir, "releases.crt");
      const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home };
      const genkey = await run(
        "openssl",
        ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyPath],
        env,
      );
      expect(genkey).toMatchObject({ code: 0 });
      const req = await run(
        "openssl",
        ["req", "-new", "-x509", "-key", keyPath, "-out", certPath, "-days", "30", "-subj", "/CN=releases"],
        env,
      );
      expect(req).toMatchObject({ code: 0 });

      await notaryOk(trustDir, ["delegation", "add", gun, "targets/releases", certPath, "--all-paths", "-p"]);
      await notaryOk(trustDir, ["key", "import", keyPath, "-r", "targets/releases"]);
      const payload = targetFile("released by the delegate\n");
      await notaryOk(trustDir, ["add", gun, "v3", payload.path, "--roles", "targets/releases", "-p"]);

      expect(await listFresh(gun)).toEqual([
        { name: "v3", digest: sha256Hex(payload.data), size: payload.data.length, role: "targets/releases" },
      ]);
      const delegations = await notaryOk(newDir("fresh"), ["delegation", "list", gun]);
      const rows = delegations.stdout.split("\n").filter((l) => l.trim().startsWith("targets/releases"));
      expect(rows).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "stops listing a target once its removal is published",
    async () => {
      const gun = newGun("remove");
      const trustDir = await initRepository(gun);
      const one = targetFile("one\n");
      const two = targetFile("two\n");
      await notaryOk(trustDir, ["add", gun, "v1", one.path]);
      await notaryOk(trustDir, ["add", gun, "v2", two.path]);
      await notaryOk(trustDir, ["publish", gun]);
      expect((await listFresh(gun)).map((t) => t.name)).toEqual(["v1", "v2"]);

      await notaryOk(trustDir, ["remove", gun, "v1", "-p"]);

      expect((await listFresh(gun)).map((t) => t.name)).toEqual(["v2"]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "accepts a root key rotation and serves the new root as version 2",
    async () => {
      const gun = newGun("root-rotation");
      const trustDir = await initRepository(gun);
      const payload = targetFile("signed under the first root\n");
      await notaryOk(trustDir, ["add", gun, "v1", payload.path, "-p"]);
      const rootBefore = await getSigned(gun, "root.json");

      await notaryOk(trustDir, ["key", "rotate", gun, "root"], { input: "yes\n" });
      await notaryOk(trustDir, ["publish", gun]);

      expect((await listFresh(gun)).map((t) => t.name)).toEqual(["v1"]);
      const second = await getSigned(gun, "2.root.json");
      expect(second.signed.version).toBe(2);
      const oldRootKeys = rootBefore.signed.roles?.root?.keyids ?? [];
      const newRootKeys = second.signed.roles?.root?.keyids ?? [];
      expect(newRootKeys).toHaveLength(1);
      expect(newRootKeys).not.toEqual(oldRootKeys);
      // Clients that trust only the old root accept the new one because the old key signs it too.
      expect(second.signatures.map((s) => s.keyid)).toEqual(
        expect.arrayContaining([...oldRootKeys, ...newRootKeys]),
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "forgets a repository deleted with --remote",
    async () => {
      const gun = newGun("delete");
      const trustDir = await initRepository(gun);
      const payload = targetFile("doomed\n");
      await notaryOk(trustDir, ["add", gun, "v1", payload.path, "-p"]);
      expect((await listFresh(gun)).map((t) => t.name)).toEqual(["v1"]);

      await notaryOk(trustDir, ["delete", gun, "--remote"]);

      const listed = await notary(newDir("fresh"), ["list", gun]);
      expect(listed.code).not.toBe(0);
      // notary prints its fatal errors on stdout.
      expect(listed.stdout).toContain(`does not have trust data for ${gun}`);
      expect((await getMetadata(gun, "root.json")).status).toBe(404);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "refuses an init with wrong credentials and stores nothing",
    async () => {
      const gun = newGun("wrong-credentials");
      const trustDir = newDir("trust");

      const init = await notary(trustDir, ["init", gun, "-p"], {
        auth: basicAuth("admin", "not-the-password"),
      });

      expect(init.code).not.toBe(0);
      expect(init.stdout).toContain("fatal: unauthorized");
      expect((await getMetadata(gun, "root.json")).status).toBe(404);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "keeps both targets and one unbroken version history when two clients publish at once",
    async () => {
      const gun = newGun("concurrent");
      const firstDir = await initRepository(gun);
      // notary 0.7 signs the targets it creates at init, then signs them again to publish: the served
      // history starts at version 2, on notary-server as here.
      const initial = (await getSigned(gun, "targets.json")).signed.version;
      expect(initial).toBe(2);
      // A second collaborator with the same keys and the same view of the repository.
      const secondDir = newDir("trust");
      cpSync(firstDir, secondDir, { recursive: true });
      const a = targetFile("from client a\n");
      const b = targetFile("from client b\n");

      const clients = [
        { dir: firstDir, args: ["add", gun, "a", a.path, "-p"] },
        { dir: secondDir, args: ["add", gun, "b", b.path, "-p"] },
      ];
      const results = await Promise.all(clients.map((c) => notary(c.dir, c.args)));
      // A client that lost the race still holds its change: publishing again is what its user would do.
      for (const [i, result] of results.entries()) {
        const client = clients[i];
        if (result.code !== 0 && client) await notaryOk(client.dir, ["publish", gun]);
      }

      expect(await listFresh(gun)).toEqual([
        { name: "a", digest: sha256Hex(a.data), size: a.data.length, role: "targets" },
        { name: "b", digest: sha256Hex(b.data), size: b.data.length, role: "targets" },
      ]);
      const current = (await getSigned(gun, "targets.json")).signed.version;
      expect(current).toBe(initial + 2);
      for (let version = initial; version <= current; version++) {
        const file = await getSigned(gun, `${version}.targets.json`);
        expect(file.signed.version).toBe(version);
      }
    },
    TEST_TIMEOUT_MS,
  );
});
