import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerConfigPath, dockerCredentials } from "./docker-credentials.js";

/** A DOCKER_CONFIG folder holding `config`, and a folder for credential helpers to go on the PATH. */
function configured(config: unknown): { env: NodeJS.ProcessEnv; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), "trustdock-docker-config-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  return { env: { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` }, bin };
}

/** A credential helper speaking docker's protocol: the server URL on stdin, JSON on stdout. */
function helper(bin: string, name: string, script: string): void {
  const file = join(bin, `docker-credential-${name}`);
  writeFileSync(file, `#!/bin/sh\nread server\n${script}\n`);
  chmodSync(file, 0o755);
}

const auth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString("base64");

describe("registry credentials from docker's config", () => {
  test("the config is $DOCKER_CONFIG/config.json, else ~/.docker/config.json", () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: "/etc/dc" })).toBe("/etc/dc/config.json");
    expect(dockerConfigPath({})).toMatch(/\.docker\/config\.json$/);
  });

  test("auths[host].auth is base64 user:password; Docker Hub is keyed by its v1 URL", async () => {
    const { env } = configured({
      auths: {
        "127.0.0.1:5000": { auth: auth("admin", "pa:ss") },
        "https://index.docker.io/v1/": { auth: auth("hubuser", "hubpass") },
      },
    });
    expect(await dockerCredentials("127.0.0.1:5000", env)).toEqual({ username: "admin", password: "pa:ss" });
    expect(await dockerCredentials("docker.io", env)).toEqual({ username: "hubuser", password: "hubpass" });
    expect(await dockerCredentials("other.example:443", env)).toBeUndefined();
  });

  test("no config file means anonymous", async () => {
    const env = { DOCKER_CONFIG: mkdtempSync(join(tmpdir(), "trustdock-no-config-")) };
    expect(await dockerCredentials("127.0.0.1:5000", env)).toBeUndefined();
  });

  test("credHelpers[host] is asked first, with the server on standard input", async () => {
    const { env, bin } = configured({
      credHelpers: { "registry.example": "scoped" },
      auths: { "registry.example": { auth: auth("from", "auths") } },
    });
    helper(
      bin,
      "scoped",
      `[ "$1" = get ] && printf '{"ServerURL":"%s","Username":"u-%s","Secret":"s"}' "$server" "$server"`,
    );
    expect(await dockerCredentials("registry.example", env)).toEqual({
      username: "u-registry.example",
      password: "s",
    });
  });

  test("credsStore serves every registry; Docker Hub is asked for by its v1 URL", async () => {
    const { env, bin } = configured({ credsStore: "store" });
    helper(bin, "store", `printf '{"Username":"%s","Secret":"secret"}' "$server"`);
    expect(await dockerCredentials("docker.io", env)).toEqual({
      username: "https://index.docker.io/v1/",
      password: "secret",
    });
  });

  test("a helper without credentials for the server, or not installed, leaves auths to answer", async () => {
    const { env, bin } = configured({
      credHelpers: { "a.example": "empty", "b.example": "not-installed" },
      auths: { "a.example": { auth: auth("a", "1") }, "b.example": { auth: auth("b", "2") } },
    });
    helper(bin, "empty", 'echo "credentials not found in native keychain"; exit 1');
    expect(await dockerCredentials("a.example", env)).toEqual({ username: "a", password: "1" });
    expect(await dockerCredentials("b.example", env)).toEqual({ username: "b", password: "2" });
  });

  test("a helper that fails otherwise is an error naming it", async () => {
    const { env, bin } = configured({ credsStore: "broken" });
    helper(bin, "broken", 'echo "keychain locked" >&2; exit 1');
    await expect(dockerCredentials("c.example", env)).rejects.toThrow(
      "docker-credential-broken get failed: keychain locked",
    );
  });
});
