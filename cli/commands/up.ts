import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { readServiceConfig, type ServiceConfig } from "../config.js";
import { ensureCertificates } from "./certs.js";
import {
  closeOnSignal,
  PLAIN_HTTP_HELP,
  type RunningServer,
  runServer,
  withPlainHttpOption,
} from "./server.js";

const MAIN = fileURLToPath(new URL("../main.js", import.meta.url));
const RESTART_DELAY_MS = 1000;
const SIGNER_START_TIMEOUT_MS = 30_000;

/**
 * The signer's passphrase for a one-command start. An operator sets TRUSTDOCK_SIGNER_PASSPHRASE_<ALIAS>;
 * without it `up` keeps a generated one beside the data (mode 0600) so a restart can still decrypt.
 */
function signerEnv(config: ServiceConfig): NodeJS.ProcessEnv {
  const alias = (process.env.TRUSTDOCK_SIGNER_DEFAULT_ALIAS || "default").toUpperCase();
  const variable = `TRUSTDOCK_SIGNER_PASSPHRASE_${alias}`;
  if (process.env[variable]) return process.env;
  const file = join(config.dataDir, "signer-passphrase");
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, randomBytes(24).toString("base64url"), { mode: 0o600 });
    console.log(
      `No ${variable} set: generated a signer passphrase in ${file}; set the variable in production.`,
    );
  }
  return { ...process.env, [variable]: readFileSync(file, "utf8").trim() };
}

/** Runs the signer as its own process, restarted if it dies, so the server keeps serving reads meanwhile. */
function superviseSigner(config: ServiceConfig): { stop(): void } {
  let child: ChildProcess | undefined;
  let stopped = false;
  const start = () => {
    child = spawn(process.execPath, [MAIN, "signer"], { env: signerEnv(config), stdio: "inherit" });
    child.on("exit", (code, signal) => {
      if (stopped) return;
      console.error(`signer exited (${signal ?? code}); restarting in ${RESTART_DELAY_MS} ms`);
      setTimeout(() => !stopped && start(), RESTART_DELAY_MS);
    });
  };
  start();
  return {
    stop() {
      stopped = true;
      child?.kill("SIGTERM");
    },
  };
}

export function registerUp(program: Command): void {
  program
    .command("up")
    .description("run the signer and the server together (the default for `npm start`)")
    .option("--plain-http", PLAIN_HTTP_HELP)
    .action(async (options: { plainHttp?: boolean }) => {
      const config = withPlainHttpOption(readServiceConfig(), options);
      ensureCertificates(config);
      const signer = config.signerUrl ? undefined : superviseSigner(config);
      // Listening for signals before the server starts: a stop while it waits for the signer must stop
      // the signer too, not leave it running without its supervisor.
      let server: RunningServer | undefined;
      closeOnSignal(async () => {
        signer?.stop();
        await server?.close();
      });
      server = await runServer(config, { waitForSignerMs: signer ? SIGNER_START_TIMEOUT_MS : 0 });
    });
}
