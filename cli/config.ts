import { join, resolve } from "node:path";

/** The operator contract: every setting Trustdock's services read, from the environment. */
export interface ServiceConfig {
  /** `host:port` the HTTPS server listens on. */
  addr: string;
  /** Serve plain HTTP for a proxy in front that terminates TLS (TRUSTDOCK_PLAIN_HTTP=1 or `--plain-http`). */
  plainHttp: boolean;
  dataDir: string;
  databaseUrl?: string;
  signerDatabaseUrl?: string;
  adminPassword?: string;
  tlsCert?: string;
  tlsKey?: string;
  signerUrl?: string;
  signerAddr: string;
  tlsDir: string;
}

export function readServiceConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const dataDir = resolve(env.TRUSTDOCK_DATA_DIR || "./data");
  const databaseUrl = env.TRUSTDOCK_DATABASE_URL || undefined;
  return {
    addr: env.TRUSTDOCK_ADDR || "127.0.0.1:5000",
    plainHttp: env.TRUSTDOCK_PLAIN_HTTP === "1" || env.TRUSTDOCK_PLAIN_HTTP === "true",
    dataDir,
    databaseUrl,
    // The signer keeps its own tables; on PostgreSQL it may share the server's database or have its own.
    signerDatabaseUrl: env.TRUSTDOCK_SIGNER_DATABASE_URL || databaseUrl,
    adminPassword: env.TRUSTDOCK_ADMIN_PASSWORD || undefined,
    tlsCert: env.TRUSTDOCK_TLS_CERT || undefined,
    tlsKey: env.TRUSTDOCK_TLS_KEY || undefined,
    signerUrl: env.TRUSTDOCK_SIGNER_URL || undefined,
    signerAddr: env.TRUSTDOCK_SIGNER_ADDR || "127.0.0.1:7899",
    tlsDir: join(dataDir, "tls"),
  };
}

/** Splits `host:port` (IPv6 in brackets); the host without brackets. */
export function splitAddr(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(":");
  const port = Number(addr.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`address "${addr}" is not host:port`);
  return { host: addr.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port };
}
