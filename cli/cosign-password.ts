/**
 * The password of a cosign key, found as cosign finds it: COSIGN_PASSWORD when set (even empty), else a
 * prompt on a terminal (asked twice when creating a key), else all of standard input, byte for byte.
 */
import { createInterface } from "node:readline/promises";

export async function readCosignPassword(confirm: boolean): Promise<string> {
  const fromEnv = process.env.COSIGN_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }
  const first = await promptHidden("Enter password for private key: ");
  if (!confirm) return first;
  const second = await promptHidden("Enter password for private key again: ");
  if (first !== second) throw new Error("passwords do not match");
  return first;
}

async function promptHidden(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // Typed characters are not echoed, as term.ReadPassword does for cosign.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  process.stderr.write(prompt);
  try {
    return await rl.question("");
  } finally {
    rl.close();
    process.stderr.write("\n");
  }
}

/** A y/n question on standard error, answered by one line of standard input. */
export async function askYesNo(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  process.stderr.write(question);
  try {
    return (await rl.question("")).trim();
  } catch {
    return "";
  } finally {
    rl.close();
  }
}
