import { readFileSync } from "node:fs";
import { request } from "node:https";

/** Where the CLI's client commands talk to: `--server`/`TRUSTDOCK_URL`, extra CA from `--ca`/`TRUSTDOCK_CA`. */
export interface ClientTarget {
  url: URL;
  ca?: string;
}

export function clientTarget(opts: { server?: string; ca?: string }): ClientTarget {
  const server = opts.server ?? process.env.TRUSTDOCK_URL;
  if (!server) throw new Error("no server: pass one or set TRUSTDOCK_URL");
  const url = new URL(/^https?:\/\//.test(server) ? server : `https://${server}`);
  const caFile = opts.ca ?? process.env.TRUSTDOCK_CA;
  return { url, ...(caFile ? { ca: readFileSync(caFile, "utf8") } : {}) };
}

export interface ClientResponse {
  status: number;
  body: Buffer;
}

const TIMEOUT_MS = 15_000;

export function httpsGet(
  target: ClientTarget,
  path: string,
  headers: Record<string, string>,
): Promise<ClientResponse> {
  return httpsRequest(target, "GET", path, headers);
}

export function httpsRequest(
  target: ClientTarget,
  method: "GET" | "POST" | "PUT" | "DELETE",
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, target.url),
      { method, headers, ca: target.ca, timeout: TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`${target.url.host} did not answer within ${TIMEOUT_MS} ms`)),
    );
    req.on("error", reject);
    req.end(body);
  });
}
