import http from "node:http";
import https from "node:https";

export interface Reply {
  status: number;
  body: string;
}

/** One GET, no connection reuse, bounded by `timeoutMs`; HTTPS checked against `ca`. */
export function get(
  url: string,
  opts: { ca?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === "https:" ? https : http;
    const req = lib.request(
      u,
      {
        method: "GET",
        agent: false,
        headers: opts.headers ?? {},
        timeout: opts.timeoutMs ?? 5000,
        ...(opts.ca ? { ca: opts.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

export interface FullReply extends Reply {
  headers: http.IncomingHttpHeaders;
}

/** One request with an optional in-memory body, no connection reuse, bounded by `timeoutMs`. */
export function send(
  method: string,
  url: string,
  opts: { ca?: string; headers?: Record<string, string>; body?: Uint8Array; timeoutMs?: number } = {},
): Promise<FullReply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === "https:" ? https : http;
    const headers = { ...(opts.headers ?? {}), "Content-Length": String(opts.body?.byteLength ?? 0) };
    const req = lib.request(
      u,
      {
        method,
        agent: false,
        headers,
        timeout: opts.timeoutMs ?? 10_000,
        ...(opts.ca ? { ca: opts.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on("error", reject);
    req.end(opts.body);
  });
}
