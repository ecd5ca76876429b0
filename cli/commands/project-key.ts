import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { Command } from "commander";
import { loadCredentials } from "../credentials.js";
import { type ClientTarget, clientTarget, httpsRequest } from "../http-client.js";

interface ClientOptions {
  server?: string;
  ca?: string;
}

interface CosignKey {
  id: number;
  name: string;
  algorithm: string;
  fingerprint: string;
  creator: string;
  creation_time: string;
}

/** One call to the server's Harbor API as the logged-in user; the API's own message on a refusal. */
async function callApi(
  opts: ClientOptions,
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: object,
): Promise<unknown> {
  const target: ClientTarget = clientTarget(opts);
  const credentials = await loadCredentials(target.url.host);
  if (!credentials)
    throw new Error(
      `no credentials for ${target.url.host}: run trustdock login, or set TRUSTDOCK_USERNAME and TRUSTDOCK_PASSWORD`,
    );
  const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64");
  const res = await httpsRequest(
    target,
    method,
    `/api/v2.0${path}`,
    {
      authorization: `Basic ${basic}`,
      "x-is-resource-name": "true",
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body ? Buffer.from(JSON.stringify(body)) : undefined,
  );
  const text = res.body.toString("utf8");
  if (res.status >= 400) {
    let message = text;
    try {
      message = (JSON.parse(text) as { errors?: { message?: string }[] }).errors?.[0]?.message ?? text;
    } catch {}
    throw new Error(`the server refused (${res.status}): ${message}`);
  }
  return text === "" ? undefined : JSON.parse(text);
}

const keysPath = (project: string) => `/projects/${encodeURIComponent(project)}/cosign-keys`;

function withClientOptions(command: Command): Command {
  return command
    .option("-s, --server <url>", "the Trustdock server (default TRUSTDOCK_URL)")
    .option("--ca <file>", "CA certificate to trust (default TRUSTDOCK_CA)");
}

/** `trustdock project key add|ls|rm`: the cosign public keys a project trusts for pulls. */
export function registerProjectKey(program: Command): void {
  const project = program.command("project").description("a project's settings on a Trustdock server");
  const key = project
    .command("key")
    .description("the cosign public keys whose signatures the project trusts (enable_content_trust_cosign)");

  withClientOptions(
    key
      .command("add")
      .description(
        "trust a cosign public key (cosign.pub: ECDSA P-256/P-384, Ed25519 or RSA) for the project",
      )
      .argument("<project>", "project name")
      .argument("<public-key>", "PEM public key file, as cosign generate-key-pair writes cosign.pub")
      .option("--name <name>", "a name for the key (default: the file's name without .pub)"),
  ).action(async (name: string, file: string, opts: ClientOptions & { name?: string }) => {
    const publicKey = await readFile(file, "utf8");
    const keyName = opts.name ?? basename(file).replace(/\.pub$/, "");
    const added = (await callApi(opts, "POST", keysPath(name), {
      name: keyName,
      public_key: publicKey,
    })) as CosignKey;
    console.log(`Added key ${added.id} (${added.name}, ${added.algorithm}, ${added.fingerprint}) to ${name}`);
  });

  withClientOptions(
    key.command("ls").description("list the keys the project trusts").argument("<project>", "project name"),
  ).action(async (name: string, opts: ClientOptions) => {
    const keys = (await callApi(opts, "GET", keysPath(name))) as CosignKey[];
    const rows = [
      ["ID", "NAME", "ALGORITHM", "FINGERPRINT", "ADDED BY", "CREATED"],
      ...keys.map((k) => [String(k.id), k.name, k.algorithm, k.fingerprint, k.creator, k.creation_time]),
    ];
    const widths =
      rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
    for (const row of rows)
      console.log(
        row
          .map((cell, column) => cell.padEnd(widths[column] ?? 0))
          .join("  ")
          .trimEnd(),
      );
  });

  withClientOptions(
    key
      .command("rm")
      .description("stop trusting a key: pulls only it allowed are refused from then on")
      .argument("<project>", "project name")
      .argument("<key>", "the key's ID or name"),
  ).action(async (name: string, which: string, opts: ClientOptions) => {
    const keys = (await callApi(opts, "GET", keysPath(name))) as CosignKey[];
    const found = keys.find((k) => String(k.id) === which) ?? keys.find((k) => k.name === which);
    if (!found) throw new Error(`project ${name} trusts no key ${which}`);
    await callApi(opts, "DELETE", `${keysPath(name)}/${found.id}`);
    console.log(`Removed key ${found.id} (${found.name}) from ${name}`);
  });
}
