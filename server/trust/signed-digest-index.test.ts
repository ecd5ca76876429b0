import { createHash } from "node:crypto";
import { fileMeta } from "../../core/tuf/generate.js";
import { describeOnEachDatabase } from "../../test/support/databases.js";
import { waitFor } from "../../test/support/processes.js";
import { injectedTrustCall, TestRepository } from "../../test/support/trust-repository.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";
import { MetadataStore } from "./metadata-store.js";
import { SignedDigestIndex } from "./signed-digest-index.js";

const manifest = (n: number) => Buffer.from(`{"schemaVersion":2,"n":${n}}`);
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describeOnEachDatabase("SignedDigestIndex", (databases) => {
  const suite = trustdockForSuite(databases);
  let td: TestTrustdock;
  let index: SignedDigestIndex;

  beforeAll(async () => {
    td = suite.td;
    index = new SignedDigestIndex(td.db, new MetadataStore(td.db));
    await index.start();
    suite.beforeClose(() => index.stop());
  });

  const callFor = (gun: string) =>
    injectedTrustCall(td.app, `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}`, gun);

  it("knows the digests signed under any registry name, and learns of new publishes and deletes", async () => {
    const viaIp = callFor(`${td.hostPort}/library/indexed`);
    const repo = await TestRepository.create(viaIp, { v1: fileMeta(manifest(1)) });
    await TestRepository.create(callFor("localhost:5000/library/indexed"), { other: fileMeta(manifest(9)) });

    expect(await index.isSigned("library/indexed", sha(manifest(1)))).toBe(true);
    expect(await index.isSigned("library/indexed", sha(manifest(9)))).toBe(true);
    expect(await index.isSigned("library/indexed", sha(manifest(2)))).toBe(false);
    expect(await index.isSigned("library/elsewhere", sha(manifest(1)))).toBe(false);

    expect((await repo.publishTargets(2, { v2: fileMeta(manifest(2)) })).status).toBe(200);
    await waitFor("the new signature", async () =>
      (await index.isSigned("library/indexed", sha(manifest(2)))) ? true : undefined,
    );
    expect(await index.isSigned("library/indexed", sha(manifest(1)))).toBe(false);

    expect((await viaIp("DELETE", "tuf/")).status).toBe(200);
    await callFor("localhost:5000/library/indexed")("DELETE", "tuf/");
    await waitFor("the deletion", async () =>
      (await index.isSigned("library/indexed", sha(manifest(2)))) ? undefined : true,
    );
  });
});
