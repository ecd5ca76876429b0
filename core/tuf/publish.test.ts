import { loadSession, publishParts, roleOfPath, SESSION_TIME } from "../../test/support/notary-session.js";
import { ecKey, rootSigned, signFile, targetsSigned } from "../../test/support/tuf-builders.js";
import { canonicalJsonBytes } from "../canonical-json.js";
import { TufError } from "./errors.js";
import { buildSnapshot, fileMeta } from "./generate.js";
import { keyId } from "./keys.js";
import { parseMetaFile } from "./parse.js";
import { planPublish, type ServerKeyIds } from "./publish.js";
import type { MetaFile, PublicKey, SnapshotSigned, TargetsSigned } from "./types.js";

const session = loadSession();

describe("planPublish, replaying every publish of a real notary 0.7 session", () => {
  it("accepts each publish the real notary-server accepted, in order", () => {
    const current = new Map<string, MetaFile>();
    const held: ServerKeyIds = { snapshot: [], timestamp: [] };
    let publishes = 0;
    for (const req of session) {
      const role = roleOfPath(req.path);
      if (req.method === "GET" && role && req.status === 200 && req.response) {
        current.set(role, parseMetaFile(role, req.response));
      }
      const keyRole = /\/(timestamp|snapshot)\.key$/.exec(req.path)?.[1] as
        | "timestamp"
        | "snapshot"
        | undefined;
      if (keyRole && req.response) {
        const id = keyId(JSON.parse(req.response.toString()) as PublicKey);
        held[keyRole] = [id, ...held[keyRole].filter((k) => k !== id)];
      }
      if (req.method === "POST" && req.path.endsWith("/_trust/tuf/")) {
        const files = publishParts(req).map((p) => parseMetaFile(p.role, p.bytes));
        if (files.length === 0) continue;
        const plan = planPublish(current, files, held, SESSION_TIME);
        expect(plan.accepted.map((f) => f.role).sort()).toEqual(files.map((f) => f.role).sort());
        for (const f of plan.accepted) current.set(f.role, f);
        publishes++;
      }
    }
    expect(publishes).toBe(8);
  });
});

const now = new Date("2026-11-23T00:00:00Z");

describe("planPublish refuses", () => {
  const rootKey = ecKey();
  const keys = { targets: ecKey(), snapshot: ecKey(), timestamp: ecKey() };
  const held: ServerKeyIds = { snapshot: [keys.snapshot.id], timestamp: [keys.timestamp.id] };
  const root1 = signFile("root", rootSigned(1, [rootKey], keys), rootKey);
  const targets1 = signFile("targets", targetsSigned(1), keys.targets);
  const existing = new Map<string, MetaFile>([
    ["root", root1],
    ["targets", targets1],
  ]);

  const refusal = (files: MetaFile[], state = existing, keysHeld = held) => {
    try {
      planPublish(state, files, keysHeld, now);
    } catch (err) {
      if (err instanceof TufError) return { code: err.code, message: err.message };
      throw err;
    }
    throw new Error("publish was accepted");
  };

  it("accepts a well-formed first publish and lets the server sign the snapshot", () => {
    const plan = planPublish(new Map(), [root1, targets1], held, now);
    expect(plan.snapshot.signedBy).toBe("server");
    expect(plan.timestampKeyId).toBe(keys.timestamp.id);
  });

  it("a root for an existing repository signed by other keys", () => {
    const stranger = ecKey();
    const hijack = signFile("root", rootSigned(2, [stranger], keys), stranger);
    expect(refusal([hijack])).toMatchObject({
      code: "ErrBadRoot",
      message: expect.stringContaining("previous root"),
    });
  });

  it("a root rotation signed by the new root only, then accepts it signed by both", () => {
    const newRoot = ecKey();
    const onlyNew = signFile("root", rootSigned(2, [newRoot], keys), newRoot);
    expect(refusal([onlyNew]).code).toBe("ErrBadRoot");
    const both = signFile("root", rootSigned(2, [newRoot], keys), newRoot, rootKey);
    expect(planPublish(existing, [both], held, now).root.version).toBe(2);
  });

  it("an older or equal version", () => {
    expect(refusal([signFile("targets", targetsSigned(1), keys.targets)]).code).toBe("ErrOldVersion");
    expect(refusal([signFile("root", rootSigned(1, [rootKey], keys), rootKey)]).code).toBe("ErrOldVersion");
  });

  it("a missing or bad signature", () => {
    expect(refusal([signFile("targets", targetsSigned(2))]).code).toBe("ErrBadTargets");
    expect(refusal([signFile("targets", targetsSigned(2), keys.snapshot)]).code).toBe("ErrBadTargets");
    const good = signFile("targets", targetsSigned(2), keys.targets);
    const tampered = JSON.parse(Buffer.from(good.bytes).toString());
    tampered.signed.targets.v1.length = 2;
    expect(refusal([parseMetaFile("targets", Buffer.from(JSON.stringify(tampered)))]).code).toBe(
      "ErrBadTargets",
    );
  });

  it("too few signatures for a threshold of two", () => {
    const second = ecKey();
    const root2 = rootSigned(2, [rootKey, second], keys, 2);
    expect(refusal([signFile("root", root2, rootKey)]).message).toContain("1 of the 2");
    expect(planPublish(existing, [signFile("root", root2, rootKey, second)], held, now).root.version).toBe(2);
  });

  it("a snapshot that does not match the targets", () => {
    const targets2 = signFile("targets", targetsSigned(2), keys.targets);
    const wrong: SnapshotSigned = buildSnapshot(
      undefined,
      new Map([
        ["root", root1.bytes],
        ["targets", targets1.bytes],
      ]),
      now,
    );
    expect(refusal([targets2, signFile("snapshot", wrong, keys.snapshot)])).toMatchObject({
      code: "ErrBadSnapshot",
      message: expect.stringContaining("targets"),
    });
    const right = buildSnapshot(
      undefined,
      new Map([
        ["root", root1.bytes],
        ["targets", targets2.bytes],
      ]),
      now,
    );
    expect(
      planPublish(existing, [targets2, signFile("snapshot", right, keys.snapshot)], held, now).snapshot,
    ).toEqual({
      signedBy: "client",
    });
  });

  it("expired metadata", () => {
    const expired = signFile("targets", targetsSigned(2, { expires: "2020-01-01T00:00:00Z" }), keys.targets);
    expect(refusal([expired])).toMatchObject({
      code: "ErrBadTargets",
      message: expect.stringContaining("expired"),
    });
  });

  it("no snapshot when the server does not hold the snapshot key", () => {
    const files = [signFile("targets", targetsSigned(2), keys.targets)];
    expect(refusal(files, existing, { snapshot: [], timestamp: held.timestamp }).code).toBe(
      "ErrBadHierarchy",
    );
  });

  it("a root whose timestamp key the server does not hold", () => {
    expect(
      refusal([signFile("targets", targetsSigned(2), keys.targets)], existing, { ...held, timestamp: [] })
        .code,
    ).toBe("ErrBadRoot");
  });

  it("a first publish without a root", () => {
    expect(refusal([targets1], new Map()).code).toBe("ErrValidation");
  });

  describe("delegations", () => {
    const delegate = ecKey();
    const withDelegation = (paths: string[]) =>
      targetsSigned(2, {
        delegations: {
          keys: { [delegate.id]: delegate.pub },
          roles: [{ name: "targets/releases", keyids: [delegate.id], threshold: 1, paths }],
        },
      });
    const releases = (targets: string[]) => ({
      ...targetsSigned(1),
      targets: Object.fromEntries(targets.map((t) => [t, fileMeta(new Uint8Array([2]))])),
    });

    it("accepts a delegated role signed by its delegated key within its paths", () => {
      const t2 = signFile("targets", withDelegation(["app/"]), keys.targets);
      const d = signFile("targets/releases", releases(["app/v1"]), delegate);
      expect(planPublish(existing, [d, t2], held, now).accepted.map((f) => f.role)).toEqual([
        "targets",
        "targets/releases",
      ]);
    });

    it("refuses a delegated role signed by another key, outside its paths, or not delegated", () => {
      const t2 = signFile("targets", withDelegation(["app/"]), keys.targets);
      expect(refusal([t2, signFile("targets/releases", releases(["app/v1"]), keys.targets)]).code).toBe(
        "ErrBadTargets",
      );
      expect(refusal([t2, signFile("targets/releases", releases(["other"]), delegate)]).message).toContain(
        "outside",
      );
      expect(refusal([signFile("targets/releases", releases(["app/v1"]), delegate)]).message).toContain(
        "not delegated",
      );
    });

    it("refuses a delegation naming a key it does not list, or a grandchild", () => {
      const bad = withDelegation([""]);
      (bad.delegations as NonNullable<TargetsSigned["delegations"]>).keys = {};
      expect(() => signFile("targets", bad, keys.targets)).toThrow(/unknown key/);
      const grandchild = withDelegation([""]);
      const [role] = (grandchild.delegations as NonNullable<TargetsSigned["delegations"]>).roles;
      if (role) role.name = "targets/a/b";
      expect(() => signFile("targets", grandchild, keys.targets)).toThrow(/direct child/);
    });
  });

  it("malformed JSON and wrong shapes", () => {
    expect(() => parseMetaFile("targets", Buffer.from("{not json"))).toThrow(
      expect.objectContaining({ code: "ErrMalformedJSON" }),
    );
    expect(() =>
      parseMetaFile("root", canonicalJsonBytes({ signed: { _type: "Targets" }, signatures: [] })),
    ).toThrow(expect.objectContaining({ code: "ErrBadRoot" }));
    expect(() => parseMetaFile("bogus", canonicalJsonBytes({ signed: {}, signatures: [] }))).toThrow(
      expect.objectContaining({ code: "ErrInvalidRole" }),
    );
  });
});
