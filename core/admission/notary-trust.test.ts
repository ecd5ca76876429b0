import {
  ecKey,
  FAR_FUTURE,
  rootSigned,
  signedBytes,
  type TestKey,
  targetsSigned,
} from "../../test/support/tuf-builders.js";
import { fileMeta } from "../tuf/generate.js";
import type { FileMeta, RootSigned, TargetsSigned } from "../tuf/types.js";
import {
  checkSignedTarget,
  type RootAnchor,
  TrustDataError,
  verifyDelegation,
  verifyRoot,
  verifySnapshot,
  verifyTargets,
  verifyTimestamp,
} from "./notary-trust.js";

const NOW = new Date("2026-06-01T00:00:00Z");
const DIGEST_A = `sha256:${"aa".repeat(32)}`;
const DIGEST_B = `sha256:${"bb".repeat(32)}`;

const target = (digest: string): FileMeta => ({
  length: 1234,
  hashes: { sha256: Buffer.from(digest.slice(7), "hex").toString("base64") },
});

/** A repository as a notary client publishes it, every role signed client-side. */
function repository(opts: { targets?: Partial<TargetsSigned> } = {}) {
  const keys = { root: ecKey(), targets: ecKey(), snapshot: ecKey(), timestamp: ecKey() };
  const root = signedBytes(rootSigned(1, [keys.root], keys), keys.root);
  const targets = signedBytes(
    targetsSigned(1, { targets: { v1: target(DIGEST_A) }, ...opts.targets }),
    keys.targets,
  );
  const snapshot = signedBytes(
    {
      _type: "Snapshot",
      version: 1,
      expires: FAR_FUTURE,
      meta: { root: fileMeta(root), targets: fileMeta(targets) },
    },
    keys.snapshot,
  );
  const timestamp = signedBytes(
    { _type: "Timestamp", version: 1, expires: FAR_FUTURE, meta: { snapshot: fileMeta(snapshot) } },
    keys.timestamp,
  );
  return { keys, root, targets, snapshot, timestamp };
}

function verifyChain(
  repo: Omit<ReturnType<typeof repository>, "keys">,
  anchor: RootAnchor = { kind: "first-use" },
) {
  const root = verifyRoot(repo.root, anchor, NOW);
  const timestamp = verifyTimestamp(root, repo.timestamp, NOW);
  const snapshot = verifySnapshot(root, timestamp, repo.snapshot, NOW);
  const targets = verifyTargets(root, snapshot, repo.targets, NOW);
  return { root, snapshot, targets };
}

describe("Notary trust data, verified client-side", () => {
  it("verifies root, timestamp, snapshot and targets, and finds the digest signed under the tag", () => {
    const { targets } = verifyChain(repository());
    expect(checkSignedTarget([targets], "v1", DIGEST_A)).toEqual({ signed: true });
    expect(checkSignedTarget([targets], "v1", DIGEST_B)).toEqual({
      signed: false,
      reason: `tag v1 is ${DIGEST_B} in the registry but Notary trust data signs ${DIGEST_A} for it`,
    });
    expect(checkSignedTarget([targets], "v2", DIGEST_A)).toMatchObject({ signed: false });
    expect(checkSignedTarget([targets], undefined, DIGEST_A)).toEqual({ signed: true });
    expect(checkSignedTarget([targets], undefined, DIGEST_B)).toMatchObject({ signed: false });
  });

  it("looks in targets/releases before targets, as docker does, within the paths delegated to it", () => {
    const delegating = repositoryWithDelegation(ecKey(), ["v"]);
    const { snapshot, targets } = verifyChain(delegating);
    const releases = verifyDelegation(
      targets,
      snapshot,
      "targets/releases",
      delegating.releases as Uint8Array,
      NOW,
    );
    expect(Object.keys(releases.targets)).toEqual(["v1"]);
    expect(checkSignedTarget([releases, targets], "v1", DIGEST_B)).toEqual({ signed: true });
  });

  it.each([
    [
      "a timestamp signed by a key the root does not name",
      (r: ReturnType<typeof repository>) => ({
        ...r,
        timestamp: signedBytes(JSON.parse(Buffer.from(r.timestamp).toString()).signed, ecKey()),
      }),
      /timestamp is not signed by enough keys/,
    ],
    [
      "a snapshot other than the one the timestamp lists",
      (r: ReturnType<typeof repository>) => ({
        ...r,
        snapshot: signedBytes(
          { _type: "Snapshot", version: 2, expires: FAR_FUTURE, meta: {} },
          r.keys.snapshot,
        ),
      }),
      /snapshot does not match the hashes timestamp lists/,
    ],
    [
      "targets swapped for other targets",
      (r: ReturnType<typeof repository>) => ({
        ...r,
        targets: signedBytes(targetsSigned(1, { targets: { v1: target(DIGEST_B) } }), r.keys.targets),
      }),
      /targets does not match the hashes snapshot lists/,
    ],
  ])("refuses %s", (_what, tamper, message) => {
    const tampered = tamper(repository());
    expect(() => verifyChain(tampered)).toThrow(TrustDataError);
    expect(() => verifyChain(tampered)).toThrow(message);
  });

  it("refuses expired targets", () => {
    const repo = repository({ targets: { expires: "2026-01-01T00:00:00Z" } });
    expect(() => verifyChain(repo)).toThrow(/targets expired at 2026-01-01/);
  });

  it("anchors the root to the key IDs a policy pins", () => {
    const repo = repository();
    expect(() => verifyChain(repo, { kind: "keys", keyIds: [repo.keys.root.id] })).not.toThrow();
    expect(() => verifyChain(repo, { kind: "keys", keyIds: [ecKey().id] })).toThrow(
      /not signed by any of the root keys the policy pins/,
    );
  });

  it("keeps a root trusted on first use: a replaced root is refused, a rotation signed by the old root is not", () => {
    const repo = repository();
    const pinned = verifyRoot(repo.root, { kind: "first-use" }, NOW);
    expect(verifyRoot(repo.root, { kind: "pinned", root: pinned }, NOW)).toEqual(pinned);

    const stranger = ecKey();
    const replaced = signedBytes(rootSigned(2, [stranger], repo.keys), stranger);
    expect(() => verifyRoot(replaced, { kind: "pinned", root: pinned }, NOW)).toThrow(
      /root is not signed by enough keys of the pinned root/,
    );
    const sameVersion = signedBytes(rootSigned(1, [stranger], repo.keys), stranger);
    expect(() => verifyRoot(sameVersion, { kind: "pinned", root: pinned }, NOW)).toThrow(
      /differs from the pinned root/,
    );
    const rotated = signedBytes(rootSigned(2, [stranger], repo.keys), stranger, repo.keys.root);
    expect(verifyRoot(rotated, { kind: "pinned", root: pinned }, NOW).version).toBe(2);
  });

  it("refuses a root that is not self-signed", () => {
    const repo = repository();
    const root: RootSigned = JSON.parse(Buffer.from(repo.root).toString()).signed;
    expect(() => verifyRoot(signedBytes(root, ecKey()), { kind: "first-use" }, NOW)).toThrow(
      /root is not signed by enough keys of its own root role/,
    );
  });
});

/** A repository whose targets delegates `targets/releases` to `releasesKey` for `paths`. */
function repositoryWithDelegation(releasesKey: TestKey, paths: string[]) {
  const keys = {
    root: ecKey(),
    targets: ecKey(),
    snapshot: ecKey(),
    timestamp: ecKey(),
    releases: releasesKey,
  };
  const root = signedBytes(rootSigned(1, [keys.root], keys), keys.root);
  const targets = signedBytes(
    targetsSigned(1, {
      targets: { v1: target(DIGEST_A) },
      delegations: {
        keys: { [releasesKey.id]: releasesKey.pub },
        roles: [{ name: "targets/releases", keyids: [releasesKey.id], threshold: 1, paths }],
      },
    }),
    keys.targets,
  );
  const releases = signedBytes(
    targetsSigned(1, { targets: { v1: target(DIGEST_B), "other/v9": target(DIGEST_B) } }),
    releasesKey,
  );
  const snapshot = signedBytes(
    {
      _type: "Snapshot",
      version: 1,
      expires: FAR_FUTURE,
      meta: { root: fileMeta(root), targets: fileMeta(targets), "targets/releases": fileMeta(releases) },
    },
    keys.snapshot,
  );
  const timestamp = signedBytes(
    { _type: "Timestamp", version: 1, expires: FAR_FUTURE, meta: { snapshot: fileMeta(snapshot) } },
    keys.timestamp,
  );
  return { keys, root, targets, releases, snapshot, timestamp };
}
