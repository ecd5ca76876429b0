import { spawn } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decryptPrivateKeyPem } from "../../core/cosign/encrypted-key.js";
import { describeKey, loadPrivateKey } from "../../core/cosign/keys.js";
import { decodePem } from "../../core/cosign/pem.js";
import { TRUSTDOCK_BIN, trustdock } from "../../test/support/cli.js";
import { commandExists, describeWithPeer } from "../../test/support/peers.js";

const noPasswordEnv = { COSIGN_PASSWORD: undefined } as unknown as NodeJS.ProcessEnv;

function freshPrefix(): string {
  return join(mkdtempSync(join(tmpdir(), "trustdock-key-")), "cosign");
}

describe("trustdock key generate", () => {
  test("writes an encrypted private key that cosign reads and the library decrypts, and its public key", async () => {
    const prefix = freshPrefix();
    const res = await trustdock(["key", "generate", "--output-key-prefix", prefix], {
      env: { COSIGN_PASSWORD: "hunter2" },
    });
    expect(res.code).toBe(0);
    expect(res.stdout).toBe("");
    expect(res.stderr).toBe(`Private key written to ${prefix}.key\nPublic key written to ${prefix}.pub\n`);
    expect(statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);
    expect(statSync(`${prefix}.pub`).mode & 0o777).toBe(0o644);

    const keyPem = readFileSync(`${prefix}.key`, "utf8");
    const pubPem = readFileSync(`${prefix}.pub`, "utf8");
    // The PEM as Go's encoding/pem writes it, with the JSON go-securesystemslib's encrypted.Encrypt writes.
    expect(keyPem).toMatch(
      /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n(?:[A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n$/,
    );
    const sealed = JSON.parse(Buffer.from(decodePem(keyPem).bytes).toString("utf8"));
    expect(Object.keys(sealed)).toEqual(["kdf", "cipher", "ciphertext"]);
    expect(Object.keys(sealed.kdf)).toEqual(["name", "params", "salt"]);
    expect(sealed.kdf.name).toBe("scrypt");
    expect(sealed.kdf.params).toEqual({ N: 32768, r: 8, p: 1 });
    expect(Object.keys(sealed.kdf.params)).toEqual(["N", "r", "p"]);
    expect(Buffer.from(sealed.kdf.salt, "base64").length).toBe(32);
    expect(Object.keys(sealed.cipher)).toEqual(["name", "nonce"]);
    expect(sealed.cipher.name).toBe("nacl/secretbox");
    expect(Buffer.from(sealed.cipher.nonce, "base64").length).toBe(24);
    const pkcs8 = decryptPrivateKeyPem(keyPem, "hunter2");
    expect(Buffer.from(sealed.ciphertext, "base64").length).toBe(pkcs8.length + 16);

    const privateKey = loadPrivateKey(keyPem, "hunter2");
    expect(describeKey(privateKey)).toBe("ecdsa-p256");
    expect(createPublicKey(privateKey).export({ format: "pem", type: "spki" })).toBe(pubPem);
    expect(() => loadPrivateKey(keyPem, "hunter3")).toThrow("decryption failed");
  });

  test("an empty COSIGN_PASSWORD is a password, as for cosign", async () => {
    const prefix = freshPrefix();
    expect(
      (await trustdock(["key", "generate", "--output-key-prefix", prefix], { env: { COSIGN_PASSWORD: "" } }))
        .code,
    ).toBe(0);
    expect(describeKey(loadPrivateKey(readFileSync(`${prefix}.key`, "utf8"), ""))).toBe("ecdsa-p256");
  });

  test("without COSIGN_PASSWORD and no terminal, the password is all of standard input", async () => {
    const prefix = freshPrefix();
    const res = await trustdock(["key", "generate", "--output-key-prefix", prefix], {
      env: noPasswordEnv,
      input: "piped secret\n",
    });
    expect(res.code).toBe(0);
    expect(() => loadPrivateKey(readFileSync(`${prefix}.key`, "utf8"), "piped secret\n")).not.toThrow();
  });

  test("an existing key is kept unless the user answers y, or passes --yes", async () => {
    const prefix = freshPrefix();
    writeFileSync(`${prefix}.key`, "old");
    const kept = await trustdock(["key", "generate", "--output-key-prefix", prefix], {
      env: { COSIGN_PASSWORD: "p" },
      input: "n\n",
    });
    expect(kept.code).toBe(0);
    expect(kept.stderr).toBe(`File ${prefix}.key already exists. Overwrite (y/n)? `);
    expect(readFileSync(`${prefix}.key`, "utf8")).toBe("old");
    const unanswered = await trustdock(["key", "generate", "--output-key-prefix", prefix], {
      env: { COSIGN_PASSWORD: "p" },
      input: "",
    });
    expect(unanswered.code).toBe(0);
    expect(unanswered.stderr).toBe(`File ${prefix}.key already exists. Overwrite (y/n)? Invalid input\n`);
    expect(readFileSync(`${prefix}.key`, "utf8")).toBe("old");
    const replaced = await trustdock(["key", "generate", "--output-key-prefix", prefix], {
      env: { COSIGN_PASSWORD: "p" },
      input: "y\n",
    });
    expect(replaced.stderr).toContain(`Private key written to ${prefix}.key`);
    expect(() => loadPrivateKey(readFileSync(`${prefix}.key`, "utf8"), "p")).not.toThrow();
    writeFileSync(`${prefix}.key`, "old");
    await trustdock(["key", "generate", "--output-key-prefix", prefix, "--yes"], {
      env: { COSIGN_PASSWORD: "p" },
    });
    expect(() => loadPrivateKey(readFileSync(`${prefix}.key`, "utf8"), "p")).not.toThrow();
  });
});

/** Runs the CLI on a pseudo-terminal (util-linux `script`), typing each answer once its prompt shows. */
async function onTerminal(args: string[], answers: string[]): Promise<{ code: number; output: string }> {
  const command = [process.execPath, TRUSTDOCK_BIN, ...args]
    .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
    .join(" ");
  const child = spawn("script", ["-qec", command, "/dev/null"], {
    env: { ...process.env, COSIGN_PASSWORD: undefined },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  let prompts = 0;
  const pending = [...answers];
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
    const seen = output.split("Enter password for private key").length - 1;
    while (prompts < seen) {
      prompts++;
      const answer = pending.shift();
      if (answer !== undefined) child.stdin.write(`${answer}\r`);
    }
  });
  const timer = setTimeout(() => child.kill(), 20_000);
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  clearTimeout(timer);
  return { code, output };
}

describeWithPeer(
  "script (a pseudo-terminal)",
  commandExists("script"),
  "trustdock key generate on a terminal",
  () => {
    test("asks for the password twice without echoing it", async () => {
      const prefix = freshPrefix();
      const { code, output } = await onTerminal(
        ["key", "generate", "--output-key-prefix", prefix],
        ["tty pass", "tty pass"],
      );
      expect(output).toContain("Enter password for private key: ");
      expect(output).toContain("Enter password for private key again: ");
      expect(output).not.toContain("tty pass");
      expect(code).toBe(0);
      expect(() => loadPrivateKey(readFileSync(`${prefix}.key`, "utf8"), "tty pass")).not.toThrow();
    });

    test("two different answers write nothing", async () => {
      const prefix = freshPrefix();
      const { code, output } = await onTerminal(
        ["key", "generate", "--output-key-prefix", prefix],
        ["one", "two"],
      );
      expect(code).toBe(1);
      expect(output).toContain("passwords do not match");
      expect(() => statSync(`${prefix}.key`)).toThrow();
    });
  },
);
