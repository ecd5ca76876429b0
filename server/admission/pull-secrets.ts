import { existsSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { credentialsFor, type RegistryCredentials } from "../../core/admission/docker-config.js";

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const SECRET_TTL_MS = 30_000;

/** Where a workload's imagePullSecrets are read: the review names them, the cluster holds them. */
export interface PullSecrets {
  credentials(
    namespace: string,
    names: readonly string[],
    registry: string,
    signal: AbortSignal,
  ): Promise<RegistryCredentials | undefined>;
}

export interface KubernetesApi {
  /** `https://host:port` of the Kubernetes API. */
  url: string;
  token: string;
  ca: string;
}

/**
 * Reads `kubernetes.io/dockerconfigjson` secrets from the Kubernetes API with the pod's service account
 * (deploy/ grants it `get` on secrets). Secrets are cached briefly; one that cannot be read gives no
 * credentials, so the registry is then asked anonymously.
 */
export class KubernetesPullSecrets implements PullSecrets {
  private readonly cache = new Map<string, { config: Promise<string | undefined>; expiresAt: number }>();

  constructor(private readonly api: KubernetesApi) {}

  /** The in-cluster API as a pod sees it, or undefined outside a cluster. */
  static inCluster(env: NodeJS.ProcessEnv = process.env): KubernetesPullSecrets | undefined {
    const host = env.KUBERNETES_SERVICE_HOST;
    const tokenFile = `${SERVICE_ACCOUNT_DIR}/token`;
    if (!host || !existsSync(tokenFile)) return undefined;
    const hostPart = host.includes(":") ? `[${host}]` : host;
    return new KubernetesPullSecrets({
      url: `https://${hostPart}:${env.KUBERNETES_SERVICE_PORT ?? "443"}`,
      token: readFileSync(tokenFile, "utf8").trim(),
      ca: readFileSync(`${SERVICE_ACCOUNT_DIR}/ca.crt`, "utf8"),
    });
  }

  async credentials(
    namespace: string,
    names: readonly string[],
    registry: string,
    signal: AbortSignal,
  ): Promise<RegistryCredentials | undefined> {
    for (const name of names) {
      const config = await this.dockerConfig(namespace, name, signal);
      const found = config ? credentialsFor(config, registry) : undefined;
      if (found) return found;
    }
    return undefined;
  }

  private dockerConfig(namespace: string, name: string, signal: AbortSignal): Promise<string | undefined> {
    const key = `${namespace}/${name}`;
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > Date.now()) return hit.config;
    const config = this.readSecret(namespace, name, signal).catch(() => undefined);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { config, expiresAt: Date.now() + SECRET_TTL_MS });
    return config;
  }

  private readSecret(namespace: string, name: string, signal: AbortSignal): Promise<string | undefined> {
    const url = `${this.api.url}/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          headers: { authorization: `Bearer ${this.api.token}`, accept: "application/json" },
          ca: this.api.ca,
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            if (res.statusCode !== 200) return resolve(undefined);
            try {
              const secret = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
                type?: string;
                data?: Record<string, string>;
              };
              const encoded = secret.data?.[".dockerconfigjson"] ?? secret.data?.[".dockercfg"];
              if (!encoded) return resolve(undefined);
              const text = Buffer.from(encoded, "base64").toString("utf8");
              // The legacy .dockercfg is the auths map itself.
              resolve(
                secret.data?.[".dockerconfigjson"] ? text : JSON.stringify({ auths: JSON.parse(text) }),
              );
            } catch (err) {
              reject(err);
            }
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end();
    });
  }
}
