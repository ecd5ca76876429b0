import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  dockerCredentials,
  loadCredentials,
  removeCredentials,
  saveCredentials,
  serverKey,
} from "./credentials.js";

const ENV = ["TRUSTDOCK_CONFIG", "DOCKER_CONFIG", "TRUSTDOCK_USERNAME", "TRUSTDOCK_PASSWORD"] as const;

describe("CLI credentials", () => {
  let dir: string;
  let configPath: string;
  const saved = Object.fromEntries(ENV.map((name) => [name, process.env[name]]));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "trustdock-credentials-"));
    configPath = join(dir, "trustdock", "config.json");
    for (const name of ENV) delete process.env[name];
    process.env.TRUSTDOCK_CONFIG = configPath;
    process.env.DOCKER_CONFIG = join(dir, "docker");
  });
  afterEach(async () => {
    for (const name of ENV) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    await rm(dir, { recursive: true, force: true });
  });

  it("saves credentials as docker does, in a file only the user can read, and loads them back", async () => {
    await saveCredentials("127.0.0.1:8443", "admin", "pa:ss word");
    expect((await stat(configPath)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "trustdock"))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(configPath, "utf8"))).toEqual({
      auths: { "127.0.0.1:8443": { auth: Buffer.from("admin:pa:ss word").toString("base64") } },
    });
    expect(await loadCredentials("127.0.0.1:8443")).toEqual({ username: "admin", password: "pa:ss word" });
    expect(await loadCredentials("127.0.0.1:9999")).toBeUndefined();
  });

  it("finds a server however its address was written", async () => {
    await saveCredentials("https://trust.example:8443/", "admin", "secret");
    expect(await loadCredentials("trust.example:8443")).toEqual({ username: "admin", password: "secret" });
    expect(serverKey("http://trust.example:8443/v2/")).toBe("trust.example:8443");
  });

  it("keeps other servers and fields, and tightens a file that was readable by others", async () => {
    await saveCredentials("a:1", "alice", "one");
    const config = JSON.parse(await readFile(configPath, "utf8"));
    await writeFile(configPath, JSON.stringify({ ...config, other: true }), { mode: 0o644 });
    await saveCredentials("b:2", "bob", "two");
    expect((await stat(configPath)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(configPath, "utf8"))).toMatchObject({ other: true });
    expect(await loadCredentials("a:1")).toEqual({ username: "alice", password: "one" });
    expect(await loadCredentials("b:2")).toEqual({ username: "bob", password: "two" });
  });

  it("removes one server's credentials", async () => {
    await saveCredentials("a:1", "alice", "one");
    await saveCredentials("b:2", "bob", "two");
    expect(await removeCredentials("https://a:1")).toBe(true);
    expect(await removeCredentials("a:1")).toBe(false);
    expect(await loadCredentials("a:1")).toBeUndefined();
    expect(await loadCredentials("b:2")).toBeDefined();
    expect((await stat(configPath)).mode & 0o777).toBe(0o600);
  });

  it("lets TRUSTDOCK_USERNAME and TRUSTDOCK_PASSWORD win over the file", async () => {
    await saveCredentials("a:1", "alice", "one");
    process.env.TRUSTDOCK_USERNAME = "ci";
    expect(await loadCredentials("a:1")).toEqual({ username: "alice", password: "one" });
    process.env.TRUSTDOCK_PASSWORD = "from-env";
    expect(await loadCredentials("a:1")).toEqual({ username: "ci", password: "from-env" });
    expect(await loadCredentials("unknown:1")).toEqual({ username: "ci", password: "from-env" });
  });

  it("has nothing when no file exists, and refuses a file that is not a JSON object", async () => {
    expect(await loadCredentials("a:1")).toBeUndefined();
    expect(await removeCredentials("a:1")).toBe(false);
    await saveCredentials("a:1", "alice", "one");
    await writeFile(configPath, "[]");
    await expect(loadCredentials("a:1")).rejects.toThrow("is not a JSON object");
  });

  it("reads what docker login saved, with or without a scheme in the key", async () => {
    await saveCredentials("x:1", "unused", "unused");
    const dockerDir = join(dir, "docker");
    await mkdir(dockerDir);
    await writeFile(
      join(dockerDir, "config.json"),
      JSON.stringify({
        auths: {
          "127.0.0.1:5000": { auth: Buffer.from("dev:registry-pw").toString("base64") },
          "https://old.example:5000": { auth: Buffer.from("old:pw").toString("base64") },
          "helper.example": {},
        },
        credsStore: "desktop",
      }),
    );
    expect(await dockerCredentials("127.0.0.1:5000")).toEqual({ username: "dev", password: "registry-pw" });
    expect(await dockerCredentials("old.example:5000")).toEqual({ username: "old", password: "pw" });
    expect(await dockerCredentials("helper.example")).toBeUndefined();
    expect(await dockerCredentials("x:1")).toBeUndefined();
  });
});
