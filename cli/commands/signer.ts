import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { migrate } from "../../server/storage/migrations.js";
import { openDatabase } from "../../server/storage/open.js";
import { reencryptKeys } from "../../signer/key-store.js";
import { SIGNER_MIGRATIONS } from "../../signer/migrations.js";
import { startSigner } from "../../signer/run.js";
import { readServiceConfig } from "../config.js";
import { ensureCertificates } from "./certs.js";
import { closeOnSignal } from "./server.js";

export function registerSigner(program: Command): void {
  const signer = program
    .command("signer")
    .description("run the signer: keeps the server-managed keys encrypted and signs over mutual TLS")
    .action(async () => {
      const config = readServiceConfig();
      const tls = ensureCertificates(config);
      const running = await startSigner({
        addr: config.signerAddr,
        dbUrl: config.signerDatabaseUrl,
        dataDir: config.dataDir,
        tls: {
          cert: readFileSync(tls.signerCert, "utf8"),
          key: readFileSync(tls.signerKey, "utf8"),
          ca: readFileSync(tls.caCert, "utf8"),
        },
      });
      console.log(`Trustdock signer is listening at ${running.url} (mutual TLS)`);
      closeOnSignal(() => running.close());
    });
  signer
    .command("reencrypt")
    .description(
      "re-encrypt every key under the passphrase of another alias (TRUSTDOCK_SIGNER_PASSPHRASE_<ALIAS>)",
    )
    .requiredOption("--alias <alias>", "the alias whose passphrase the keys are encrypted under from now on")
    .action(async (opts: { alias: string }) => {
      const config = readServiceConfig();
      const db = await openDatabase({
        url: config.signerDatabaseUrl,
        dataDir: config.dataDir,
        name: "signer",
      });
      try {
        await migrate(db, "signer", SIGNER_MIGRATIONS);
        const count = await reencryptKeys(db, opts.alias);
        console.log(`re-encrypted ${count} keys under alias ${opts.alias}`);
      } finally {
        await db.close();
      }
    });
}
