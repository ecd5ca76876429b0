import { readFileSync } from "node:fs";
import { request } from "node:https";
import { ADMIN_PASSWORD, type TestTrustdock } from "./trustdock.js";

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTPS request trusting only `ca`: what a client of Trustdock's private CA sees, body and all. */
export function httpsRequest(opts: {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  ca: string | Buffer;
  timeoutMs?: number;
}): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      opts.url,
      { method: opts.method ?? "GET", headers: opts.headers, ca: opts.ca, timeout: opts.timeoutMs ?? 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${opts.method ?? "GET"} ${opts.url} timed out`)));
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** A bearer token for the admin user from Trustdock's token service, covering `scope`. */
export async function adminToken(td: Pick<TestTrustdock, "url" | "tls">, scope: string): Promise<string> {
  const url = new URL("/service/token", td.url);
  url.searchParams.set("service", "trustdock");
  url.searchParams.set("scope", scope);
  const res = await httpsRequest({
    url: url.toString(),
    headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}` },
    ca: readFileSync(td.tls.caCert),
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.body.toString()}`);
  return (JSON.parse(res.body.toString()) as { token: string }).token;
}
