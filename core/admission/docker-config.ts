import { DOCKER_HUB } from "./image-reference.js";

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** The registry host a docker config key names: `https://index.docker.io/v1/` is docker.io, as docker reads it. */
function hostOf(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, "")
    .replace(/\/.*$/, "")
    .toLowerCase();
  return host === "index.docker.io" || host === "registry-1.docker.io" ? DOCKER_HUB : host;
}

/**
 * The credentials a `kubernetes.io/dockerconfigjson` secret (a docker config.json) holds for `registry`,
 * from `auth` (base64 user:password) or `username`/`password`; undefined when it holds none.
 */
export function credentialsFor(dockerConfigJson: string, registry: string): RegistryCredentials | undefined {
  let config: unknown;
  try {
    config = JSON.parse(dockerConfigJson);
  } catch {
    return undefined;
  }
  const auths = (config as { auths?: unknown } | null)?.auths;
  if (typeof auths !== "object" || auths === null) return undefined;
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    if (hostOf(key) !== registry.toLowerCase() || typeof entry !== "object" || entry === null) continue;
    const { auth, username, password } = entry as Record<string, unknown>;
    if (typeof auth === "string" && auth !== "") {
      const decoded = Buffer.from(auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (typeof username === "string" && typeof password === "string") return { username, password };
  }
  return undefined;
}
