import { existsSync, readFileSync } from "node:fs";
import { fixturePath } from "./shared.js";

/** One request of the captured notary 0.7 session (../shared/fixtures/notary-0.7-session). */
export interface SessionRequest {
  n: number;
  method: string;
  path: string;
  contentType: string;
  status: number;
  headers: Record<string, string>;
  request?: Buffer;
  response?: Buffer;
}

export const SESSION_GUN = "example.com/fixture/app";
/** When the session was recorded: replays must run their clock at this time (its timestamps expire). */
export const SESSION_TIME = new Date("2026-11-22T15:04:43Z");

export function loadSession(): SessionRequest[] {
  const dir = fixturePath("notary-0.7-session");
  const lines = readFileSync(`${dir}/requests.log`, "utf8").split("\n").filter(Boolean);
  return lines.map((line) => {
    const m = /^(\d+) (\w+) (\S+) req=\d+B ct=(.*?) auth=\w+ -> (\d+) \d+B (\{.*\})$/.exec(line);
    if (!m) throw new Error(`unreadable session line: ${line}`);
    const [, num, method, path, contentType, status, headers] = m as unknown as string[];
    const n = Number(num);
    const file = (ext: string) => {
      const p = `${dir}/${String(n).padStart(3, "0")}.${ext}`;
      return existsSync(p) ? readFileSync(p) : undefined;
    };
    return {
      n,
      method: method as string,
      path: path as string,
      contentType: contentType as string,
      status: Number(status),
      headers: JSON.parse(headers as string) as Record<string, string>,
      request: file("req"),
      response: file("res"),
    };
  });
}

/** The parts of a captured multipart publish: role name (the part's filename) and its exact bytes. */
export function publishParts(req: SessionRequest): Array<{ role: string; bytes: Buffer }> {
  const boundary = /boundary=(\S+)/.exec(req.contentType)?.[1];
  if (!boundary || !req.request) return [];
  const body = req.request.toString("latin1");
  return body
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((chunk) => {
      const headerEnd = chunk.indexOf("\r\n\r\n");
      const role = /filename="([^"]+)"/.exec(chunk.slice(0, headerEnd))?.[1] ?? "";
      const content = chunk.slice(headerEnd + 4, chunk.length - 2);
      return { role, bytes: Buffer.from(content, "latin1") };
    });
}

/** The role a metadata GET path names: `root.json`, `2.root.json`, `targets/releases.<sha>.json` ... */
export function roleOfPath(path: string): string | undefined {
  const m = /\/_trust\/tuf\/(.+)\.json$/.exec(path);
  if (!m) return undefined;
  const parts = (m[1] as string).split(".");
  if (parts.length === 1) return parts[0];
  if (/^\d+$/.test(parts[0] as string)) return parts[1];
  return parts[0];
}
