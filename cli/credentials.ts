import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** A user and password for one Trustdock server or registry. */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** docker's config.json shape; other fields (ours or docker's) are kept as they are. */
interface AuthConfig {
  auths?: Record<string, { auth?: string } & Record<string, unknown>>;
  [key: string]: unknown;
}

export function trustdockConfigPath(): string {
  return process.env.TRUSTDOCK_CONFIG || join(homedir(), ".trustdock", "config.json");
}

function dockerConfigPath(): string {
  return join(process.env.DOCKER_CONFIG || join(homedir(), ".docker"), "config.json");
}

/**
 * `host:port` of a server however it was written (`https://host:port/`, `host:port`), as docker's
 * convertToHostname does, so `login https://h:1` and a later `-s h:1` find the same entry.
 */
export function serverKey(server: string): string {
  return server.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").split("/")[0] ?? "";
}

async function readConfig(path: string): Promise<AuthConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
  const config: unknown = JSON.parse(text);
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new Error(`${path} is not a JSON object`);
  }
  return config as AuthConfig;
}

// Written aside then renamed so that a crash never leaves half a file, and created 0600 so that the
// passwords are never readable by others, not even for a moment.
async function writeConfig(path: string, config: AuthConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

function decodeAuth(auth: unknown): Credentials | undefined {
  if (typeof auth !== "string") return undefined;
  const decoded = Buffer.from(auth, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function findAuth(config: AuthConfig, server: string): Credentials | undefined {
  const key = serverKey(server);
  const entry = Object.entries(config.auths ?? {}).find(([name]) => serverKey(name) === key);
  return decodeAuth(entry?.[1].auth);
}

export async function saveCredentials(server: string, username: string, password: string): Promise<void> {
  const path = trustdockConfigPath();
  const config = await readConfig(path);
  const auth = Buffer.from(`${username}:${password}`).toString("base64");
  config.auths = { ...config.auths, [serverKey(server)]: { auth } };
  await writeConfig(path, config);
}

/** TRUSTDOCK_USERNAME and TRUSTDOCK_PASSWORD, when both are set, win over what `login` saved. */
export async function loadCredentials(server: string): Promise<Credentials | undefined> {
  const { TRUSTDOCK_USERNAME: username, TRUSTDOCK_PASSWORD: password } = process.env;
  if (username && password !== undefined) return { username, password };
  return findAuth(await readConfig(trustdockConfigPath()), server);
}

/** False if nothing was saved for `server`. */
export async function removeCredentials(server: string): Promise<boolean> {
  const path = trustdockConfigPath();
  const config = await readConfig(path);
  const key = serverKey(server);
  const names = Object.keys(config.auths ?? {}).filter((name) => serverKey(name) === key);
  if (names.length === 0) return false;
  config.auths = Object.fromEntries(
    Object.entries(config.auths ?? {}).filter(([name]) => !names.includes(name)),
  );
  await writeConfig(path, config);
  return true;
}

/**
 * What `docker login <registryHost>` saved in `$DOCKER_CONFIG/config.json`. Only the plain `auth` field
 * is read: credential helpers (`credsStore`, `credHelpers`) keep secrets in the OS keychain and would
 * mean running docker-credential-* programs, which we leave to the user (`trustdock login`).
 */
export async function dockerCredentials(registryHost: string): Promise<Credentials | undefined> {
  return findAuth(await readConfig(dockerConfigPath()), registryHost);
}
