import { verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { canonicalJsonBytes } from "../../core/canonical-json.js";
import { buildSnapshot, fileMeta, signingBytes } from "../../core/tuf/generate.js";
import { keyId, toKeyObject } from "../../core/tuf/keys.js";
import type { PublicKey, SnapshotSigned, TimestampSigned } from "../../core/tuf/types.js";
import { describeOnEachDatabase } from "../../test/support/databases.js";
import { publishBody } from "../../test/support/multipart.js";
import { fixturePath } from "../../test/support/shared.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";
import {
  ecKey,
  rootSigned,
  signedBytes,
  type TestKey,
  targetsSigned,
} from "../../test/support/tuf-builders.js";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: Buffer;
  json: () => { errors: Array<{ code: string; message: string; detail: unknown }> };
}

describeOnEachDatabase("Notary trust API", (databases) => {
  const suite = trustdockForSuite(databases);
  let td: TestTrustdock;
  let gunCounter = 0;

  beforeAll(async () => {
    td = suite.td;
  });

  async function adminToken(gun: string): Promise<string> {
    const res = await td.app.inject({
      method: "GET",
      url: `/service/token?service=trustdock&scope=repository:${gun}:pull,push,*`,
      headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}` },
    });
    return (res.json() as { token: string }).token;
  }

  // Tokens name one repository; each test gets its own GUN and so its own token.
  const tokens = new Map<string, string>();
  async function request(
    method: "GET" | "POST" | "DELETE",
    gun: string,
    path: string,
    opts: { body?: Buffer; contentType?: string; auth?: string | null } = {},
  ): Promise<Reply> {
    if (!tokens.has(gun)) tokens.set(gun, await adminToken(gun));
    const headers: Record<string, string> = {};
    const auth = opts.auth === undefined ? `Bearer ${tokens.get(gun)}` : opts.auth;
    if (auth) headers.authorization = auth;
    if (opts.contentType) headers["content-type"] = opts.contentType;
    const res = await td.app.inject({
      method,
      url: `/v2/${gun}/_trust/${path}`,
      headers,
      ...(opts.body ? { payload: opts.body } : {}),
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      body: res.rawPayload,
      json: () => JSON.parse(res.payload),
    };
  }

  async function publish(gun: string, files: Array<{ role: string; bytes: Uint8Array }>): Promise<Reply> {
    const { body, contentType } = await publishBody(files);
    return request("POST", gun, "tuf/", { body, contentType });
  }

  /** A new repository published the way `notary init` does with a server-managed snapshot key. */
  async function newRepository(opts: { rootThreshold?: number } = {}) {
    const gun = `${td.hostPort}/library/repo${++gunCounter}`;
    const timestampKey = JSON.parse(
      (await request("GET", gun, "tuf/timestamp.key")).body.toString(),
    ) as PublicKey;
    const snapshotKey = JSON.parse(
      (await request("GET", gun, "tuf/snapshot.key")).body.toString(),
    ) as PublicKey;
    const rootKeys = [ecKey(), ecKey()].slice(0, opts.rootThreshold ?? 1);
    const targetsKey = ecKey();
    const root = rootSigned(
      1,
      rootKeys,
      { targets: targetsKey, snapshot: snapshotKey, timestamp: timestampKey },
      rootKeys.length,
    );
    const rootBytes = signedBytes(root, ...rootKeys);
    const targetsBytes = signedBytes(targetsSigned(1), targetsKey);
    const res = await publish(gun, [
      { role: "root", bytes: rootBytes },
      { role: "targets", bytes: targetsBytes },
    ]);
    expect(res.status).toBe(200);
    return { gun, rootKeys, targetsKey, timestampKey, snapshotKey, rootBytes, targetsBytes, root };
  }

  async function versionsOf(gun: string) {
    const out: Record<string, number> = {};
    for (const role of ["root", "targets", "snapshot", "timestamp"]) {
      const res = await request("GET", gun, `tuf/${role}.json`);
      out[role] = res.status === 200 ? JSON.parse(res.body.toString()).signed.version : 0;
    }
    return out;
  }

  it("serves a publish back with the server's snapshot and timestamp, signed by its keys", async () => {
    const repo = await newRepository();
    const root = await request("GET", repo.gun, "tuf/root.json");
    expect(root.status).toBe(200);
    expect(root.body.equals(Buffer.from(repo.rootBytes))).toBe(true);
    expect(root.headers["cache-control"]).toBe("public, max-age=300, s-maxage=300, must-revalidate");
    expect(root.headers["last-modified"]).toMatch(/^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/);

    const timestamp = JSON.parse((await request("GET", repo.gun, "tuf/timestamp.json")).body.toString());
    const snapshotRes = await request("GET", repo.gun, "tuf/snapshot.json");
    const snapshot = JSON.parse(snapshotRes.body.toString());
    expect(timestamp.signatures[0].keyid).toBe(keyId(repo.timestampKey));
    expect(snapshot.signatures[0].keyid).toBe(keyId(repo.snapshotKey));
    for (const [doc, key] of [
      [timestamp, repo.timestampKey],
      [snapshot, repo.snapshotKey],
    ] as const) {
      const sig = Buffer.from(doc.signatures[0].sig, "base64");
      expect(
        verify(
          "sha256",
          canonicalJsonBytes(doc.signed),
          { key: toKeyObject(key), dsaEncoding: "ieee-p1363" },
          sig,
        ),
      ).toBe(true);
    }
    expect((timestamp.signed as TimestampSigned).meta.snapshot).toEqual(fileMeta(snapshotRes.body));
    expect((snapshot.signed as SnapshotSigned).meta.targets).toEqual(fileMeta(repo.targetsBytes));

    const sha = (await import("../../core/digest.js")).sha256Hex(repo.targetsBytes);
    const pinned = await request("GET", repo.gun, `tuf/targets.${sha}.json`);
    expect(pinned.status).toBe(200);
    expect(pinned.headers["cache-control"]).toBe("public, max-age=2592000, s-maxage=2592000");
    expect((await request("GET", repo.gun, "tuf/1.root.json")).body.equals(Buffer.from(repo.rootBytes))).toBe(
      true,
    );
  });

  it("answers a missing repository with notary's METADATA_NOT_FOUND body, byte for byte", async () => {
    const res = await request("GET", `${td.hostPort}/library/nothing-here`, "tuf/root.json");
    expect(res.status).toBe(404);
    expect(res.body.toString()).toBe(readFileSync(fixturePath("notary-0.7-session", "102.res"), "utf8"));
  });

  describe("refuses with notary's error shape and stores nothing", () => {
    async function expectRefused(
      gun: string,
      res: Reply,
      status: number,
      code: string,
      before: Record<string, number>,
    ) {
      expect(res.status).toBe(status);
      expect(res.json().errors[0]?.code).toBe(code);
      expect(await versionsOf(gun)).toEqual(before);
    }

    it("a root for an existing repository signed by other keys", async () => {
      const repo = await newRepository();
      const before = await versionsOf(repo.gun);
      const stranger = ecKey();
      const hijack = rootSigned(2, [stranger], {
        targets: stranger,
        snapshot: repo.snapshotKey,
        timestamp: repo.timestampKey,
      });
      const res = await publish(repo.gun, [{ role: "root", bytes: signedBytes(hijack, stranger) }]);
      await expectRefused(repo.gun, res, 400, "INVALID_UPDATE", before);
      expect(res.json().errors[0]?.detail).toMatchObject({ Name: "ErrBadRoot" });
    });

    it("an older version", async () => {
      const repo = await newRepository();
      const before = await versionsOf(repo.gun);
      const res = await publish(repo.gun, [
        { role: "targets", bytes: signedBytes(targetsSigned(1), repo.targetsKey) },
      ]);
      await expectRefused(repo.gun, res, 400, "VERSION", before);
    });

    it("a bad or a missing signature", async () => {
      const repo = await newRepository();
      const before = await versionsOf(repo.gun);
      const unsigned = await publish(repo.gun, [{ role: "targets", bytes: signedBytes(targetsSigned(2)) }]);
      await expectRefused(repo.gun, unsigned, 400, "INVALID_UPDATE", before);
      const forged = await publish(repo.gun, [
        { role: "targets", bytes: signedBytes(targetsSigned(2), ecKey()) },
      ]);
      await expectRefused(repo.gun, forged, 400, "INVALID_UPDATE", before);
    });

    it("too few signatures for the root's threshold", async () => {
      const repo = await newRepository({ rootThreshold: 2 });
      const before = await versionsOf(repo.gun);
      const next = { ...repo.root, version: 2 };
      const res = await publish(repo.gun, [
        { role: "root", bytes: signedBytes(next, repo.rootKeys[0] as TestKey) },
      ]);
      await expectRefused(repo.gun, res, 400, "INVALID_UPDATE", before);
      expect(JSON.stringify(res.json().errors[0]?.detail)).toContain("1 of the 2");
    });

    it("a snapshot that does not match the targets", async () => {
      const repo = await newRepository();
      const before = await versionsOf(repo.gun);
      const snapshotKey = ecKey();
      const targets2 = signedBytes(targetsSigned(2), repo.targetsKey);
      const stale = buildSnapshot(
        undefined,
        new Map([
          ["root", repo.rootBytes],
          ["targets", repo.targetsBytes],
        ]),
        new Date(),
      );
      const res = await publish(repo.gun, [
        { role: "targets", bytes: targets2 },
        { role: "snapshot", bytes: signedBytes({ ...stale, version: 5 }, snapshotKey) },
      ]);
      await expectRefused(repo.gun, res, 400, "INVALID_UPDATE", before);
    });

    it("expired metadata", async () => {
      const repo = await newRepository();
      const before = await versionsOf(repo.gun);
      const expired = targetsSigned(2, { expires: "2021-01-01T00:00:00Z" });
      const res = await publish(repo.gun, [
        { role: "targets", bytes: signedBytes(expired, repo.targetsKey) },
      ]);
      await expectRefused(repo.gun, res, 400, "INVALID_UPDATE", before);
    });

    it("malformed JSON, malformed multipart, a body that is not multipart, an oversized file", async () => {
      const repo = await newRepository();
      const before = await versionsOf(repo.gun);
      await expectRefused(
        repo.gun,
        await publish(repo.gun, [{ role: "targets", bytes: Buffer.from("{nope") }]),
        400,
        "MALFORMED_JSON",
        before,
      );
      const truncated = await publishBody([
        { role: "targets", bytes: signedBytes(targetsSigned(2), repo.targetsKey) },
      ]);
      const cut = await request("POST", repo.gun, "tuf/", {
        body: truncated.body.subarray(0, 100),
        contentType: truncated.contentType,
      });
      await expectRefused(repo.gun, cut, 400, "MALFORMED_UPLOAD", before);
      const plain = await request("POST", repo.gun, "tuf/", {
        body: Buffer.from("{}"),
        contentType: "application/json",
      });
      await expectRefused(repo.gun, plain, 400, "MALFORMED_UPLOAD", before);
      const huge = await publish(repo.gun, [
        { role: "targets", bytes: Buffer.alloc(11 * 1024 * 1024, 0x20) },
      ]);
      await expectRefused(repo.gun, huge, 413, "MALFORMED_UPLOAD", before);
    });

    it("an uploaded timestamp, or a role that does not exist", async () => {
      const repo = await newRepository();
      const before = await versionsOf(repo.gun);
      const res = await publish(repo.gun, [{ role: "timestamp", bytes: Buffer.from("{}") }]);
      await expectRefused(repo.gun, res, 400, "INVALID_ROLE", before);
      const bogus = await publish(repo.gun, [{ role: "bogus", bytes: Buffer.from("{}") }]);
      await expectRefused(repo.gun, bogus, 400, "INVALID_ROLE", before);
    });

    it("a bad GUN", async () => {
      for (const gun of ["UPPER/case/name", "example.com/a//b", "example.com/onlyone"]) {
        const res = await request("GET", gun, "tuf/root.json");
        expect(res.status).toBe(400);
        expect(res.json().errors[0]?.code).toBe("INVALID_GUN");
      }
    });

    it("a missing or wrong token, with a challenge that says where to get one", async () => {
      const repo = await newRepository();
      const before = await versionsOf(repo.gun);
      const body = await publishBody([
        { role: "targets", bytes: signedBytes(targetsSigned(2), repo.targetsKey) },
      ]);
      for (const auth of [
        null,
        "Bearer not-a-token",
        `Basic ${Buffer.from("admin:wrong").toString("base64")}`,
      ]) {
        const res = await request("POST", repo.gun, "tuf/", { ...body, auth });
        expect(res.status).toBe(401);
        expect(res.json().errors[0]?.code).toBe("UNAUTHORIZED");
        expect(res.headers["www-authenticate"]).toBe(
          `Bearer realm="https://localhost:80/service/token",service="trustdock",scope="repository:${repo.gun}:pull,push"`,
        );
      }
      expect(await versionsOf(repo.gun)).toEqual(before);
    });
  });

  it("lets exactly one of two concurrent publishes of the same version win, leaving one history", async () => {
    const repo = await newRepository();
    const a = signedBytes(targetsSigned(2, { targets: { a: fileMeta(Buffer.from("a")) } }), repo.targetsKey);
    const b = signedBytes(targetsSigned(2, { targets: { b: fileMeta(Buffer.from("b")) } }), repo.targetsKey);
    const results = await Promise.all([
      publish(repo.gun, [{ role: "targets", bytes: a }]),
      publish(repo.gun, [{ role: "targets", bytes: b }]),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(results.find((r) => r.status === 400)?.json().errors[0]?.code).toBe("VERSION");
    const winner = results[0]?.status === 200 ? a : b;
    expect((await request("GET", repo.gun, "tuf/2.targets.json")).body.equals(Buffer.from(winner))).toBe(
      true,
    );
    const snapshot = JSON.parse((await request("GET", repo.gun, "tuf/snapshot.json")).body.toString());
    expect(snapshot.signed.meta.targets).toEqual(fileMeta(winner));
  });

  it("records publishes and deletion in the changefeed, and forgets a deleted repository", async () => {
    const repo = await newRepository();
    await publish(repo.gun, [{ role: "targets", bytes: signedBytes(targetsSigned(2), repo.targetsKey) }]);
    expect((await request("DELETE", repo.gun, "tuf/")).status).toBe(200);
    expect((await request("GET", repo.gun, "tuf/root.json")).status).toBe(404);
    const feed = JSON.parse(
      (await request("GET", repo.gun, "changefeed?change_id=0&records=10")).body.toString(),
    );
    expect(feed.count).toBe(3);
    expect(feed.records.map((r: { Category: string }) => r.Category)).toEqual([
      "update",
      "update",
      "deletion",
    ]);
    expect(feed.records[0]).toMatchObject({ GUN: repo.gun, Version: 1 });
    const last = JSON.parse(
      (await request("GET", repo.gun, "changefeed?change_id=0&records=-1")).body.toString(),
    );
    expect(last.records[0].Category).toBe("deletion");
  });

  it("with the signer down: publishes fail with a clear 503, reads go on, and it recovers by itself", async () => {
    const repo = await newRepository();
    await td.stopSigner();
    try {
      const res = await publish(repo.gun, [
        { role: "targets", bytes: signedBytes(targetsSigned(2), repo.targetsKey) },
      ]);
      expect(res.status).toBe(503);
      expect(res.json().errors[0]).toMatchObject({ code: "UNAVAILABLE", message: "signer unavailable" });
      expect((await request("GET", repo.gun, "tuf/timestamp.json")).status).toBe(200);
      expect((await request("GET", repo.gun, "tuf/root.json")).status).toBe(200);
      expect((await versionsOf(repo.gun)).targets).toBe(1);
    } finally {
      await td.startSigner();
    }
    const again = await publish(repo.gun, [
      { role: "targets", bytes: signedBytes(targetsSigned(2), repo.targetsKey) },
    ]);
    expect(again.status).toBe(200);
  });

  it("keeps signatures the timestamp key verifies over exactly the bytes it serves", async () => {
    const repo = await newRepository();
    const res = await request("GET", repo.gun, "tuf/timestamp.json");
    const doc = JSON.parse(res.body.toString());
    expect(Buffer.from(signingBytes(doc.signed)).toString()).toBe(
      Buffer.from(canonicalJsonBytes(doc.signed)).toString(),
    );
  });
});
