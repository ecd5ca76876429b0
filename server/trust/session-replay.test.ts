import { sha256Hex } from "../../core/digest.js";
import { parseMetaFile } from "../../core/tuf/parse.js";
import {
  loadSession,
  publishParts,
  roleOfPath,
  SESSION_GUN,
  SESSION_TIME,
} from "../../test/support/notary-session.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../../test/support/trustdock.js";
import { ProjectStore } from "../projects/project-store.js";
import { MetadataStore } from "./metadata-store.js";

/**
 * Replays the read side of a real notary 0.7 session: every metadata file the real notary-server stored is
 * put in Trustdock's store, then each GET the notary CLI made for a pinned file (by checksum or version)
 * must get the same status, the same bytes and the same cache policy as it got from notary-server.
 */
describe("the captured notary session's reads, replayed", () => {
  const session = loadSession();
  let td: TestTrustdock;
  const basic = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}`;

  beforeAll(async () => {
    td = await startTestTrustdock({ clock: () => SESSION_TIME });
    await new ProjectStore(td.db).create({ name: "fixture", metadata: { public: "false" } });
    const files = new Map<string, { role: string; version: number; data: Buffer }>();
    const remember = (role: string, data: Buffer) => {
      const version = parseMetaFile(role, data).envelope.signed.version;
      files.set(`${role}@${version}`, { role, version, data });
    };
    for (const req of session) {
      const role = roleOfPath(req.path);
      if (req.method === "GET" && role && req.status === 200 && req.response) remember(role, req.response);
      if (req.method === "POST") for (const part of publishParts(req)) remember(part.role, part.bytes);
    }
    const store = new MetadataStore(td.db);
    await td.db.transaction((tx) =>
      store.insert(
        tx,
        SESSION_GUN,
        [...files.values()].map((f) => ({ ...f, sha256: sha256Hex(f.data) })),
      ),
    );
  });
  afterAll(() => td.close());

  const pinnedReads = session.filter(
    (r) => r.method === "GET" && /\/_trust\/tuf\/(\d+\.[^/]+|.+\.[0-9a-f]{64})\.json$/.test(r.path),
  );

  it("covers the session's pinned reads", () => {
    expect(pinnedReads.length).toBe(29);
  });

  it.each(pinnedReads.map((r) => [r.n, r.path, r] as const))("request %i: GET %s", async (_n, path, req) => {
    const res = await td.app.inject({ method: "GET", url: path, headers: { authorization: basic } });
    expect(res.statusCode).toBe(req.status);
    expect(res.rawPayload.equals(req.response ?? Buffer.alloc(0))).toBe(true);
    expect(res.headers["cache-control"]).toBe(req.headers["cache-control"]);
    expect(res.headers["content-type"]).toBe(req.headers["content-type"]);
  });

  it("serves the final root and timestamp the session ended with", async () => {
    const lastOf = (suffix: string) =>
      [...session].reverse().find((r) => r.path.endsWith(suffix) && r.status === 200);
    for (const suffix of ["/root.json", "/timestamp.json"]) {
      const captured = lastOf(suffix);
      const res = await td.app.inject({
        method: "GET",
        url: captured?.path ?? "",
        headers: { authorization: basic },
      });
      expect(res.statusCode).toBe(200);
      expect(res.rawPayload.equals(captured?.response ?? Buffer.alloc(0))).toBe(true);
      expect(res.headers["cache-control"]).toBe(captured?.headers["cache-control"]);
    }
  });
});
