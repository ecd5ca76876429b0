import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { buildServer } from "../../server/app.js";
import { ensureAdmin } from "../../server/auth/ensure-admin.js";
import { ensureTokenCertificate } from "../../server/auth/token-certificate.js";
import { SignerClient } from "../../server/signer-client.js";
import { openDatabase } from "../../server/storage/open.js";
import { readServiceConfig, type ServiceConfig, splitAddr } from "../config.js";
import { ensureCertificates } from "./certs.js";

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Opens the store, makes sure of the admin and the certificates, and serves HTTPS until closed (plain
 * HTTP with `config.plainHttp`, for a proxy in front that terminates TLS). With
 * `waitForSignerMs` it first waits that long at most for the signer, so that being ready (GET /v2/
 * answering) also means publishes can be signed; without, it serves reads while the signer is away.
 */
export async function runServer(
  config: ServiceConfig,
  opts: { waitForSignerMs?: number } = {},
): Promise<RunningServer> {
  const tls = ensureCertificates(config);
  const certFile = config.tlsCert ?? tls.serverCert;
  const keyFile = config.tlsKey ?? tls.serverKey;
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, name: "server" });
  const signer = new SignerClient({
    url: config.signerUrl ?? `https://${config.signerAddr}`,
    ca: readFileSync(tls.caCert, "utf8"),
    cert: readFileSync(tls.signerClientCert, "utf8"),
    key: readFileSync(tls.signerClientKey, "utf8"),
  });
  if (opts.waitForSignerMs) await waitForSigner(signer, opts.waitForSignerMs);
  const app = await buildServer({
    db,
    signer,
    ...(config.plainHttp
      ? { behindTlsProxy: true }
      : { tls: { cert: readFileSync(certFile), key: readFileSync(keyFile) } }),
    logger: process.env.TRUSTDOCK_LOG === "1",
    blobDir: join(config.dataDir, "blobs"),
  });
  const { generatedPassword } = await ensureAdmin(db, config.adminPassword);
  await ensureTokenCertificate(db, join(config.tlsDir, "token.crt"));
  const { host, port } = splitAddr(config.addr);
  await app.listen({ host, port });
  const hostPort = port === 443 ? host : config.addr;
  const url = `${config.plainHttp ? "http" : "https"}://${hostPort}`;
  printBanner(url, hostPort, config.tlsCert || config.plainHttp ? undefined : tls.caCert, generatedPassword);
  return {
    url,
    async close() {
      await app.close();
      signer.close();
      await db.close();
    },
  };
}

async function waitForSigner(signer: SignerClient, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await signer.health();
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        console.error(
          `signer not ready after ${timeoutMs} ms (${(err as Error).message}); serving reads meanwhile`,
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function printBanner(
  url: string,
  hostPort: string,
  caPath: string | undefined,
  generatedPassword?: string,
): void {
  const lines = [`Trustdock is serving at ${url} (registry token service, Notary trust API)`];
  if (url.startsWith("http:"))
    lines.push("Plain HTTP: for a proxy in front that terminates TLS and sets X-Forwarded-Proto and -Host.");
  if (caPath) {
    lines.push(
      `CA certificate: ${caPath}`,
      "For docker to trust it (the daemon for pull/push, the CLI for content trust):",
      `  sudo mkdir -p /etc/docker/certs.d/${hostPort} && sudo cp ${caPath} /etc/docker/certs.d/${hostPort}/ca.crt`,
      `  mkdir -p ~/.docker/tls/${hostPort} && cp ${caPath} ~/.docker/tls/${hostPort}/ca.crt`,
    );
  }
  if (generatedPassword) {
    lines.push(
      `Generated password for user admin (shown once; set TRUSTDOCK_ADMIN_PASSWORD to choose it): ${generatedPassword}`,
    );
  }
  console.log(lines.join("\n"));
}

export function registerServer(program: Command): void {
  program
    .command("server")
    .description("run the HTTPS server (trust API and token service); the signer runs separately")
    .option("--plain-http", PLAIN_HTTP_HELP)
    .action(async (options: { plainHttp?: boolean }) => {
      const server = await runServer(withPlainHttpOption(readServiceConfig(), options));
      closeOnSignal(() => server.close());
    });
}

export const PLAIN_HTTP_HELP =
  "serve plain HTTP, for a proxy in front that terminates TLS; the token realm follows its X-Forwarded-Proto and X-Forwarded-Host (also TRUSTDOCK_PLAIN_HTTP=1)";

/** The config with `--plain-http` applied: the flag turns plain HTTP on, as TRUSTDOCK_PLAIN_HTTP=1 does. */
export function withPlainHttpOption(config: ServiceConfig, options: { plainHttp?: boolean }): ServiceConfig {
  return options.plainHttp ? { ...config, plainHttp: true } : config;
}

export function closeOnSignal(close: () => Promise<void>): void {
  let closing = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      close().finally(() => process.exit(0));
    });
  }
}
