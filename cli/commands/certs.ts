import { hostname } from "node:os";
import type { Command } from "commander";
import { ensureTlsMaterial, type TlsMaterialPaths } from "../../server/tls/certificate-authority.js";
import { readServiceConfig, type ServiceConfig, splitAddr } from "../config.js";

/** The CA, the server certificate (listen address and localhost) and the server/signer mutual-TLS pair. */
export function ensureCertificates(config: ServiceConfig): TlsMaterialPaths {
  const { host } = splitAddr(config.addr);
  const hosts = host === "0.0.0.0" || host === "::" ? [hostname()] : [host];
  return ensureTlsMaterial(config.tlsDir, { hosts });
}

export function registerCerts(program: Command): void {
  program
    .command("certs")
    .description("create the TLS CA, the server certificate and the server/signer mutual-TLS certificates")
    .action(() => {
      const paths = ensureCertificates(readServiceConfig());
      console.log(`TLS material in ${readServiceConfig().tlsDir}; CA certificate: ${paths.caCert}`);
    });
}
