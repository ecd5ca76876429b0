import { existsSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { generateKeyPair } from "../../core/cosign/keys.js";
import { askYesNo, readCosignPassword } from "../cosign-password.js";

/** `trustdock key generate`: a key pair cosign itself can use, written as `cosign generate-key-pair` writes it. */
export function registerKey(program: Command): void {
  const key = program.command("key").description("cosign-compatible signing keys");
  key
    .command("generate")
    .description(
      "generate an ECDSA P-256 key pair: <prefix>.key encrypted as cosign's (password from COSIGN_PASSWORD or a prompt) and <prefix>.pub",
    )
    .option("--output-key-prefix <prefix>", "name of the key files, without extension", "cosign")
    .option("-y, --yes", "overwrite existing key files without asking")
    .action(async (opts: { outputKeyPrefix: string; yes?: boolean }) => {
      const privatePath = `${opts.outputKeyPrefix}.key`;
      const publicPath = `${opts.outputKeyPrefix}.pub`;
      const password = await readCosignPassword(true);
      const pair = generateKeyPair(password);
      if (existsSync(privatePath) && !opts.yes) {
        const answer = await askYesNo(`File ${privatePath} already exists. Overwrite (y/n)? `);
        if (answer !== "y" && answer !== "Y") {
          if (answer !== "n" && answer !== "N") console.error("Invalid input");
          return;
        }
      }
      writeFileSync(privatePath, pair.privateKeyPem, { mode: 0o600 });
      console.error(`Private key written to ${privatePath}`);
      writeFileSync(publicPath, pair.publicKeyPem, { mode: 0o644 });
      console.error(`Public key written to ${publicPath}`);
    });
}
