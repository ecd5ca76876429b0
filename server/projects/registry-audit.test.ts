import { describeOnEachDatabase } from "../../test/support/databases.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";
import { migrateServer } from "../app.js";
import {
  basicAuth,
  type RegistryClient,
  registryClient,
  uniqueRepository,
} from "../registry/testing/registry-client.js";
import type { Db } from "../storage/db.js";
import { RegistryAuditTrail } from "./registry-audit.js";

const ADMIN = basicAuth("admin", ADMIN_PASSWORD);

interface AuditView {
  username: string;
  operation: string;
  resource: string;
  resource_type: string;
  op_time: string;
}

describeOnEachDatabase("registry audit log through the HTTP API", (databases) => {
  const suite = trustdockForSuite(databases);
  let td: TestTrustdock;
  let registry: RegistryClient;

  beforeAll(() => {
    td = suite.td;
    registry = registryClient(td.app, ADMIN);
  });

  const auditLogs = async (authorization = ADMIN): Promise<AuditView[]> => {
    const res = await td.app.inject({
      method: "GET",
      url: "/api/v2.0/audit-logs?page_size=100",
      headers: { authorization },
    });
    expect(res.statusCode).toBe(200);
    return res.json();
  };

  /** The audit entries about `repository`, oldest first, once `count` of them are there (pulls are batched). */
  const entriesOf = async (repository: string, count: number): Promise<AuditView[]> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const entries = (await auditLogs()).filter((e) => e.resource.startsWith(`${repository}:`)).reverse();
      if (entries.length >= count || Date.now() > deadline) return entries;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const robot = async (project: string, actions: string[]) => {
    const res = await td.app.inject({
      method: "POST",
      url: "/api/v2.0/robots",
      headers: { authorization: ADMIN, "content-type": "application/json" },
      payload: JSON.stringify({
        name: `audit${Math.random().toString(36).slice(2, 8)}`,
        level: "project",
        duration: -1,
        permissions: [
          {
            kind: "project",
            namespace: project,
            access: actions.map((action) => ({ resource: "repository", action })),
          },
        ],
      }),
    });
    expect(res.statusCode).toBe(201);
    const { name, secret } = res.json<{ name: string; secret: string }>();
    return { name, authorization: basicAuth(name, secret) };
  };

  it("records a push as an artifact create, a GET as a pull, deletions by digest and by tag", async () => {
    const repo = uniqueRepository("audited");
    const reader = await robot("library", ["pull"]);
    const image = await registry.pushImage(repo, "latest");
    const byDigest = await registry.pushImage(repo, undefined, { content: "untagged" });

    expect(
      (await registry.call("GET", `/v2/${repo}/manifests/latest`, { auth: reader.authorization })).status,
    ).toBe(200);
    expect((await registry.call("HEAD", `/v2/${repo}/manifests/latest`)).status).toBe(200);
    const anonymousToken = (
      await registry.call("GET", `/service/token?service=trustdock&scope=repository:${repo}:pull`, {
        auth: null,
      })
    ).json<{ token: string }>().token;
    const anonymous = await registry.call("GET", `/v2/${repo}/manifests/${image.digest}`, {
      auth: `Bearer ${anonymousToken}`,
    });
    expect(anonymous.status).toBe(200);
    // The pulls are written after their answers; the deletions after them would otherwise race them.
    await entriesOf(repo, 4);

    expect((await registry.call("DELETE", `/v2/${repo}/manifests/latest`)).status).toBe(202);
    expect((await registry.call("DELETE", `/v2/${repo}/manifests/${byDigest.digest}`)).status).toBe(202);

    const entries = await entriesOf(repo, 6);
    expect(
      entries.map(({ username, operation, resource_type, resource }) => ({
        username,
        operation,
        resource_type,
        resource,
      })),
    ).toEqual([
      { username: "admin", operation: "create", resource_type: "artifact", resource: `${repo}:latest` },
      {
        username: "admin",
        operation: "create",
        resource_type: "artifact",
        resource: `${repo}:${byDigest.digest}`,
      },
      { username: reader.name, operation: "pull", resource_type: "artifact", resource: `${repo}:latest` },
      {
        username: "anonymous",
        operation: "pull",
        resource_type: "artifact",
        resource: `${repo}:${image.digest}`,
      },
      { username: "admin", operation: "delete", resource_type: "tag", resource: `${repo}:latest` },
      {
        username: "admin",
        operation: "delete",
        resource_type: "artifact",
        resource: `${repo}:${byDigest.digest}`,
      },
    ]);
    for (const entry of entries) expect(Date.parse(entry.op_time)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("records nothing for refused requests", async () => {
    const repo = uniqueRepository("refused");
    await registry.pushImage(repo, "v1");
    const reader = await robot("library", ["pull"]);
    expect(
      (await registry.call("DELETE", `/v2/${repo}/manifests/v1`, { auth: reader.authorization })).status,
    ).toBe(403);
    expect((await registry.call("GET", `/v2/${repo}/manifests/v2`)).status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await entriesOf(repo, 1)).map((e) => e.operation)).toEqual(["create"]);
  });
});

describeOnEachDatabase("registry audit trail batching", (databases) => {
  let db: Db;
  let dispose: () => Promise<void>;
  const logged: string[] = [];
  const log = {
    error: (_: unknown, message: string) => void logged.push(message),
    warn: (_: unknown, message: string) => void logged.push(message),
  } as unknown as ConstructorParameters<typeof RegistryAuditTrail>[1]; // the two methods the trail calls

  beforeAll(async () => {
    const created = await databases.create();
    db = created.db;
    dispose = created.dispose;
    await migrateServer(db);
  });
  afterAll(() => dispose());

  const pull = (i: number) => ({
    actor: "",
    repository: "library/batched",
    digest: `sha256:${"0".repeat(63)}${i % 10}`,
    tag: "latest",
  });
  const pullRows = async () =>
    (
      await db.query<{ n: number }>("SELECT count(*)::integer AS n FROM audit_log WHERE operation = 'pull'")
    )[0]?.n;

  it("writes held pulls on close, counting each for its digest and its tag", async () => {
    const trail = new RegistryAuditTrail(db, log, { flushEveryMs: 60_000, batchSize: 7 });
    trail.start();
    for (let i = 0; i < 20; i++) trail.pulled(pull(i));
    await trail.close();
    expect(await pullRows()).toBe(20);
    const counts = await db.query<{ reference: string; pull_count: string | number }>(
      "SELECT reference, pull_count FROM registry_pulls WHERE repository = 'library/batched' ORDER BY reference",
    );
    expect(Number(counts.find((row) => row.reference === "latest")?.pull_count)).toBe(20);
    expect(
      counts
        .filter((row) => row.reference.startsWith("sha256:"))
        .reduce((n, row) => n + Number(row.pull_count), 0),
    ).toBe(20);
  });

  it("keeps pulls the database refused, logs, and writes them on the next flush", async () => {
    let refuse = true;
    const flaky = {
      ...db,
      query: db.query.bind(db),
      transaction: <T>(work: Parameters<Db["transaction"]>[0]) =>
        refuse ? Promise.reject(new Error("database down")) : (db.transaction(work) as Promise<T>),
    } as Db;
    const before = await pullRows();
    const trail = new RegistryAuditTrail(flaky, log, { flushEveryMs: 60_000 });
    trail.pulled(pull(1));
    trail.pulled(pull(2));
    await trail.flush();
    expect(await pullRows()).toBe(before);
    expect(logged).toContain("audit log: writing pulls failed; retrying later");
    refuse = false;
    await trail.close();
    expect(await pullRows()).toBe((before ?? 0) + 2);
  });

  it("drops the oldest pulls beyond its bound rather than grow without end", async () => {
    const before = await pullRows();
    const trail = new RegistryAuditTrail(db, log, { flushEveryMs: 60_000, batchSize: 1000, maxPending: 5 });
    for (let i = 0; i < 8; i++) trail.pulled(pull(i));
    await trail.close();
    expect(await pullRows()).toBe((before ?? 0) + 5);
    expect(logged).toContain("audit log: pulls dropped, the database has not taken them");
  });
});
