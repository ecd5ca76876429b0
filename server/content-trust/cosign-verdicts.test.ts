import { generateKeyPairSync } from "node:crypto";
import { publicKeyToPem } from "../../core/cosign/keys.js";
import { describeOnEachDatabase } from "../../test/support/databases.js";
import { waitFor } from "../../test/support/processes.js";
import { PROJECT_CHANGES_CHANNEL } from "../projects/project-store.js";
import { MANIFEST_CHANGES_CHANNEL } from "../registry/manifest-cache.js";
import type { Db } from "../storage/db.js";
import { CosignVerdictCache } from "./cosign-verdicts.js";
import type { CosignVerdict } from "./cosign-verification.js";

const ALLOWED: CosignVerdict = { allowed: true };
const UNSIGNED: CosignVerdict = { allowed: false, signed: false };

describeOnEachDatabase("cosign verdict cache", (databases) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let cache: CosignVerdictCache;
  let keyLoads = 0;
  const pem = publicKeyToPem(generateKeyPairSync("ed25519").publicKey);

  beforeEach(async () => {
    ({ db, dispose } = await databases.create());
    keyLoads = 0;
    cache = new CosignVerdictCache(db, async () => {
      keyLoads++;
      return [{ publicKeyPem: pem }, { publicKeyPem: "no longer a key" }];
    });
    await cache.start();
  });
  afterEach(async () => {
    await cache.stop();
    await dispose();
  });

  /** A verification that counts its runs and answers `verdict`. */
  const counted = (verdict: CosignVerdict) => {
    const verify = Object.assign(
      async () => {
        verify.runs++;
        return verdict;
      },
      { runs: 0 },
    );
    return verify;
  };
  const notify = (channel: string, payload: string) =>
    db.query("SELECT pg_notify($1, $2)", [channel, payload]);

  it("verifies once per (repository, digest) until the repository changes here", async () => {
    const verify = counted(ALLOWED);
    expect(await cache.verdict("p/app", "sha256:a", verify)).toBe(ALLOWED);
    expect(await cache.verdict("p/app", "sha256:a", verify)).toBe(ALLOWED);
    await cache.verdict("p/other", "sha256:a", verify);
    expect(verify.runs).toBe(2);
    cache.repositoryChanged("p/app");
    await cache.verdict("p/app", "sha256:a", verify);
    await cache.verdict("p/other", "sha256:a", verify);
    expect(verify.runs).toBe(3);
  });

  it("drops a repository's verdicts on its NOTIFY, and everything on an unknown repository's", async () => {
    const verify = counted(UNSIGNED);
    await cache.verdict("p/app", "sha256:a", verify);
    await cache.verdict("q/app", "sha256:a", verify);
    await notify(MANIFEST_CHANGES_CHANNEL, "p/app");
    await waitFor(
      "the NOTIFY",
      async () => {
        await cache.verdict("p/app", "sha256:a", verify);
        return verify.runs === 3 ? true : undefined;
      },
      5000,
    );
    await cache.verdict("q/app", "sha256:a", verify);
    expect(verify.runs).toBe(3);
    await notify(MANIFEST_CHANGES_CHANNEL, "");
    await waitFor(
      "the NOTIFY",
      async () => {
        await cache.verdict("q/app", "sha256:a", verify);
        return verify.runs === 4 ? true : undefined;
      },
      5000,
    );
  });

  it("parses a project's keys once, skips one that no longer parses, and drops them and the project's verdicts when the project changes", async () => {
    expect(await cache.projectKeys("p")).toHaveLength(1);
    await cache.projectKeys("p");
    expect(keyLoads).toBe(1);
    const verify = counted(ALLOWED);
    await cache.verdict("p/app", "sha256:a", verify);
    await cache.verdict("pq/app", "sha256:a", verify);
    await notify(PROJECT_CHANGES_CHANNEL, "p");
    await waitFor(
      "the NOTIFY",
      async () => {
        await cache.projectKeys("p");
        return keyLoads === 2 ? true : undefined;
      },
      5000,
    );
    await cache.verdict("p/app", "sha256:a", verify);
    await cache.verdict("pq/app", "sha256:a", verify);
    expect(verify.runs).toBe(3);
  });

  it("does not keep a verdict worked out while its repository changed", async () => {
    let finish: (verdict: CosignVerdict) => void = () => undefined;
    const running = cache.verdict("p/app", "sha256:a", () => new Promise((resolve) => (finish = resolve)));
    cache.repositoryChanged("p/app");
    finish(ALLOWED);
    expect(await running).toBe(ALLOWED);
    const verify = counted(UNSIGNED);
    expect(await cache.verdict("p/app", "sha256:a", verify)).toBe(UNSIGNED);
    expect(verify.runs).toBe(1);
  });
});
