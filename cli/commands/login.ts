import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import { removeCredentials, saveCredentials, serverKey } from "../credentials.js";
import { clientTarget, httpsGet } from "../http-client.js";

async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "");
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // Echo is muted by writing nothing for typed characters, as docker login does.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  process.stderr.write("Password: ");
  const password = await rl.question("");
  rl.close();
  process.stderr.write("\n");
  return password;
}

export function registerLogin(program: Command): void {
  program
    .command("login")
    .description(
      "check credentials against a Trustdock server and keep them for the CLI, as docker login does",
    )
    .argument("[server]", "host:port or URL (default TRUSTDOCK_URL)")
    .requiredOption("-u, --username <username>", "user name")
    .option("--password-stdin", "read the password from standard input")
    .option("--ca <file>", "CA certificate to trust (default TRUSTDOCK_CA)")
    .action(
      async (
        server: string | undefined,
        opts: { username: string; passwordStdin?: boolean; ca?: string },
      ) => {
        const target = clientTarget({ server, ca: opts.ca });
        const password = process.env.TRUSTDOCK_PASSWORD || (await readPassword(opts.passwordStdin === true));
        const basic = Buffer.from(`${opts.username}:${password}`).toString("base64");
        const res = await httpsGet(target, "/service/token?service=trustdock", {
          authorization: `Basic ${basic}`,
        });
        if (res.status === 401) throw new Error("login failed: wrong user name or password");
        if (res.status !== 200) throw new Error(`login failed: the server answered ${res.status}`);
        await saveCredentials(target.url.host, opts.username, password);
        console.log(`Login Succeeded (${serverKey(target.url.host)})`);
      },
    );
  program
    .command("logout")
    .description("forget the credentials kept for a server")
    .argument("[server]", "host:port or URL (default TRUSTDOCK_URL)")
    .option("-s, --server <url>", "the server, as the positional argument")
    .action(async (server: string | undefined, opts: { server?: string }) => {
      const host = clientTarget({ server: server ?? opts.server }).url.host;
      console.log(
        (await removeCredentials(host))
          ? `Removed login credentials for ${host}`
          : `Not logged in to ${host}`,
      );
    });
}
