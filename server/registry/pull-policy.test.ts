import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { V2Router } from "../http/v2-router.js";
import { migrate } from "../storage/migrations.js";
import { PgliteDb } from "../storage/pglite-driver.js";
import { replyRegistryError } from "./errors.js";
import { OCI_MANIFEST } from "./manifest-format.js";
import { registryMigrations } from "./migrations.js";
import { PullPolicyError } from "./pull-policy.js";
import { registerRegistry } from "./registry.js";
import { leaveBodiesUnread } from "./request-body.js";
import { basicAuth, registryClient } from "./testing/registry-client.js";

// The hook content trust plugs into: every manifest served, by tag or digest, passes the pull policy first.
describe("the registry's pull policy", () => {
  let db: PgliteDb;
  let blobDir: string;
  let app: FastifyInstance;
  const checked: Array<[string, string, string]> = [];
  const refused = new Set<string>();

  beforeAll(async () => {
    db = await PgliteDb.open();
    await migrate(db, "registry", registryMigrations);
    blobDir = mkdtempSync(join(tmpdir(), "trustdock-pull-policy-"));
    const router = new V2Router();
    await registerRegistry(router, {
      db,
      blobDir,
      // Authorization is not what this suite is about: everyone may do everything.
      authorize: async () => ({ subject: "tester" }),
      authorizeCatalog: async () => undefined,
      pullPolicy: {
        async check(repositoryPath, { digest, mediaType }) {
          checked.push([repositoryPath, digest, mediaType]);
          if (refused.has(digest))
            throw new PullPolicyError("the digest is not signed", "PROJECTPOLICYVIOLATION", { digest });
        },
      },
    });
    router.setNotFound(replyRegistryError);
    app = Fastify();
    await app.register(async (v2) => {
      leaveBodiesUnread(v2);
      router.register(v2);
    });
  });
  afterAll(async () => {
    await app.close();
    await db.close();
    rmSync(blobDir, { recursive: true, force: true });
  });

  it("asks about the resolved digest on GET and HEAD, by tag and by digest, and serves what it allows", async () => {
    const registry = registryClient(app, basicAuth("tester", "unchecked"));
    const image = await registry.pushImage("library/allowed", "v1");
    checked.length = 0;
    for (const method of ["GET", "HEAD"]) {
      for (const reference of ["v1", image.digest]) {
        expect((await registry.call(method, `/v2/library/allowed/manifests/${reference}`)).status).toBe(200);
      }
    }
    expect(checked).toEqual(Array(4).fill(["library/allowed", image.digest, OCI_MANIFEST]));
  });

  it("answers 412 with the policy's code and detail when it refuses", async () => {
    const registry = registryClient(app, basicAuth("tester", "unchecked"));
    const image = await registry.pushImage("library/refused", "v1");
    refused.add(image.digest);
    const res = await registry.call("GET", "/v2/library/refused/manifests/v1");
    expect(res.status).toBe(412);
    expect(res.json().errors).toEqual([
      {
        code: "PROJECTPOLICYVIOLATION",
        message: "the digest is not signed",
        detail: { digest: image.digest },
      },
    ]);
    expect((await registry.call("HEAD", `/v2/library/refused/manifests/${image.digest}`)).status).toBe(412);
  });

  it("is not asked about manifests that do not exist", async () => {
    const registry = registryClient(app, basicAuth("tester", "unchecked"));
    checked.length = 0;
    expect((await registry.call("GET", "/v2/library/allowed/manifests/nope")).status).toBe(404);
    expect(checked).toEqual([]);
  });
});
