/**
 * Registry credentials found as docker finds them: `$DOCKER_CONFIG/config.json` (default
 * `~/.docker/config.json`), a credential helper named for the registry in `credHelpers` or for all of
 * them in `credsStore` (`docker-credential-<name> get`), else the `auths` entry.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { credentialsFor, type RegistryCredentials } from "../../core/admission/docker-config.js";
import { DOCKER_HUB } from "../../core/admission/image-reference.js";

const HELPER_TIMEOUT_MS = 10_000;
/** The server URL docker has always keyed Docker Hub's credentials by. */
const DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/";

interface DockerConfig {
  credsStore?: unknown;
  credHelpers?: unknown;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), ".docker"), "config.json");
}

/** The credentials for `registry` (`docker.io`, `host:port`), or undefined to go anonymous. */
export async function dockerCredentials(
  registry: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RegistryCredentials | undefined> {
  const path = dockerConfigPath(env);
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, "utf8");
  let config: DockerConfig;
  try {
    config = JSON.parse(text) as DockerConfig;
  } catch {
    throw new Error(`${path} is not JSON`);
  }
  const helper = helperFor(config, registry);
  if (helper !== undefined) {
    const fromHelper = await askHelper(
      helper,
      registry === DOCKER_HUB ? DOCKER_HUB_CONFIG_KEY : registry,
      env,
    );
    if (fromHelper) return fromHelper;
  }
  return credentialsFor(text, registry);
}

function helperFor(config: DockerConfig, registry: string): string | undefined {
  const helpers = config.credHelpers;
  if (typeof helpers === "object" && helpers !== null) {
    const named = (helpers as Record<string, unknown>)[registry];
    if (typeof named === "string" && named !== "") return named;
  }
  return typeof config.credsStore === "string" && config.credsStore !== "" ? config.credsStore : undefined;
}

/**
 * `docker-credential-<helper> get` with the server URL on standard input, as docker runs it. A helper
 * that is not installed, or knows nothing of the server, leaves the `auths` entry to answer.
 */
function askHelper(
  helper: string,
  serverUrl: string,
  env: NodeJS.ProcessEnv,
): Promise<RegistryCredentials | undefined> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      `docker-credential-${helper}`,
      ["get"],
      { env, timeout: HELPER_TIMEOUT_MS, encoding: "utf8" },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          // ENOENT: no such helper installed; "credentials not found": the helper has none for this server.
          if (code === "ENOENT" || /credentials not found/i.test(`${stdout}${stderr}`))
            return resolve(undefined);
          return reject(
            new Error(`docker-credential-${helper} get failed: ${(stderr || err.message).trim()}`),
          );
        }
        try {
          const reply = JSON.parse(stdout) as { Username?: unknown; Secret?: unknown };
          if (typeof reply.Username !== "string" || typeof reply.Secret !== "string")
            return reject(new Error(`docker-credential-${helper} gave no Username and Secret`));
          resolve({ username: reply.Username, password: reply.Secret });
        } catch {
          reject(new Error(`docker-credential-${helper} answered no JSON`));
        }
      },
    );
    child.stdin?.end(serverUrl);
  });
}
