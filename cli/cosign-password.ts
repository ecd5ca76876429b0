/**
 * The password of a cosign key, found as cosign finds it: COSIGN_PASSWORD when set (even empty), else a
 * prompt on a terminal (asked twice when creating a key), else all of standard input, byte for byte.
 */
import { createInterface } from "node:readline";

export async function readCosignPassword(confirm: boolean): Promise<string> {
  const fromEnv = process.env.COSIGN_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }
  const terminal = new HiddenLineReader();
  try {
    const first = await terminal.ask("Enter password for private key: ");
    if (!confirm) return first;
    const second = await terminal.ask("Enter password for private key again: ");
    if (first !== second) throw new Error("passwords do not match");
    return first;
  } finally {
    terminal.close();
  }
}

/**
 * Lines typed on the terminal without echo, as term.ReadPassword reads them for cosign: raw mode, so
 * nothing is shown; what arrives after one line (typed ahead) is kept for the next question.
 */
class HiddenLineReader {
  private buffered = "";
  private waiting: { resolve: (line: string) => void; reject: (err: Error) => void } | undefined;
  private readonly onData = (chunk: Buffer) => {
    this.buffered += chunk.toString("utf8");
    this.deliver();
  };

  constructor() {
    process.stdin.setRawMode(true);
    process.stdin.on("data", this.onData);
  }

  ask(prompt: string): Promise<string> {
    process.stderr.write(prompt);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.deliver();
    });
  }

  close(): void {
    process.stdin.off("data", this.onData);
    process.stdin.setRawMode(false);
    process.stdin.pause();
  }

  private deliver(): void {
    const waiting = this.waiting;
    if (!waiting) return;
    let line = "";
    for (let i = 0; i < this.buffered.length; i++) {
      const ch = this.buffered[i];
      if (ch === "\r" || ch === "\n") {
        this.buffered = this.buffered.slice(i + 1).replace(/^\n/, "");
        this.waiting = undefined;
        process.stderr.write("\n");
        waiting.resolve(line);
        return;
      }
      if (ch === "\u0003" || (ch === "\u0004" && line === "")) {
        this.waiting = undefined;
        process.stderr.write("\n");
        waiting.reject(new Error(ch === "\u0003" ? "interrupted" : "no password entered (end of input)"));
        return;
      }
      if (ch === "\u007f" || ch === "\b") line = line.slice(0, -1);
      else line += ch;
    }
  }
}

/** A y/n question on standard error, answered by one line of standard input (end of input: no answer). */
export function askYesNo(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  process.stderr.write(question);
  return new Promise((resolve) => {
    rl.once("line", (line) => {
      resolve(line.trim());
      rl.close();
    });
    rl.once("close", () => resolve(""));
  });
}
