import { createHash } from "node:crypto";
import { ecKey, signFile, targetsSigned } from "../../test/support/tuf-builders.js";
import { fileMeta } from "./generate.js";
import { signedDigests } from "./signed-digests.js";
import type { MetaFile } from "./types.js";

const now = new Date("2026-11-23T00:00:00Z");
const manifest = (n: number) => Buffer.from(`{"manifest":${n}}`);
const hex = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("signedDigests", () => {
  const key = ecKey();
  const delegate = ecKey();

  it("finds the digests signed in targets and in the delegations it reaches", () => {
    const targets = targetsSigned(2, {
      targets: { v1: fileMeta(manifest(1)) },
      delegations: {
        keys: { [delegate.id]: delegate.pub },
        roles: [{ name: "targets/releases", keyids: [delegate.id], threshold: 1, paths: [""] }],
      },
    });
    const releases = targetsSigned(1, { targets: { v2: fileMeta(manifest(2)) } });
    const files = new Map<string, MetaFile>([
      ["targets", signFile("targets", targets, key)],
      ["targets/releases", signFile("targets/releases", releases, delegate)],
    ]);
    expect(signedDigests(files, now)).toEqual(new Set([hex(manifest(1)), hex(manifest(2))]));
  });

  it("ignores a delegated role no longer delegated, and expired roles", () => {
    const orphan = signFile(
      "targets/old",
      targetsSigned(1, { targets: { v3: fileMeta(manifest(3)) } }),
      delegate,
    );
    const expired = signFile(
      "targets",
      targetsSigned(2, { expires: "2020-01-01T00:00:00Z", targets: { v4: fileMeta(manifest(4)) } }),
      key,
    );
    expect(signedDigests(new Map([["targets/old", orphan]]), now).size).toBe(0);
    expect(signedDigests(new Map([["targets", expired]]), now).size).toBe(0);
  });
});
