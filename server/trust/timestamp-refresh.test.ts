import { describeOnEachDatabase } from "../../test/support/databases.js";
import { injectedTrustCall, TestRepository } from "../../test/support/trust-repository.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";

const DAY = 24 * 3600 * 1000;

describeOnEachDatabase("server-signed timestamp", (databases) => {
  let now = new Date("2026-11-23T12:00:00Z");
  const suite = trustdockForSuite(databases, { clock: () => now });
  let td: TestTrustdock;
  const gun = () => `${td.hostPort}/library/clock`;
  const basic = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}`;
  const get = async (path: string) => {
    const res = await td.app.inject({
      method: "GET",
      url: `/v2/${gun()}/_trust/tuf/${path}`,
      headers: { authorization: basic },
    });
    return { status: res.statusCode, doc: JSON.parse(res.payload) };
  };

  beforeAll(async () => {
    td = suite.td;
    await TestRepository.create(injectedTrustCall(td.app, basic, gun()));
  });

  it("is served as signed while it has time left, and re-signed when it nears expiry", async () => {
    const first = (await get("timestamp.json")).doc;
    expect(first.signed.version).toBe(1);
    expect(Date.parse(first.signed.expires) - now.getTime()).toBe(14 * DAY);

    now = new Date(now.getTime() + 9 * DAY);
    expect((await get("timestamp.json")).doc.signed.version).toBe(1);

    now = new Date(now.getTime() + 2 * DAY);
    const refreshed = (await get("timestamp.json")).doc;
    expect(refreshed.signed.version).toBe(2);
    expect(Date.parse(refreshed.signed.expires) - now.getTime()).toBe(14 * DAY);
    expect(refreshed.signed.meta.snapshot).toEqual(first.signed.meta.snapshot);
    expect((await get("timestamp.json")).doc.signed.version).toBe(2);
  });

  it("keeps serving the old one while the signer is down, until it has expired", async () => {
    await td.stopSigner();
    try {
      now = new Date(now.getTime() + 12 * DAY);
      expect((await get("timestamp.json")).doc.signed.version).toBe(2);
      now = new Date(now.getTime() + 3 * DAY);
      const expired = await get("timestamp.json");
      expect(expired.status).toBe(503);
      expect(expired.doc.errors[0].code).toBe("UNAVAILABLE");
    } finally {
      await td.startSigner();
    }
    expect((await get("timestamp.json")).doc.signed.version).toBe(3);
  });
});
