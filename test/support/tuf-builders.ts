import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { fileMeta, serializeEnvelope, signingBytes } from "../../core/tuf/generate.js";
import { keyId } from "../../core/tuf/keys.js";
import { parseMetaFile } from "../../core/tuf/parse.js";
import type { AnySigned, MetaFile, PublicKey, RootSigned, TargetsSigned } from "../../core/tuf/types.js";

/** Keys and metadata made here, signed as the notary client signs (ECDSA P-256, r||s over canonical JSON). */
export interface TestKey {
  id: string;
  pub: PublicKey;
  privateKey: KeyObject;
}

export function ecKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pub: PublicKey = {
    keytype: "ecdsa",
    keyval: { public: publicKey.export({ format: "der", type: "spki" }).toString("base64"), private: null },
  };
  return { id: keyId(pub), pub, privateKey };
}

export function signedBytes(signed: AnySigned, ...keys: TestKey[]): Uint8Array {
  const signatures = keys.map((k) => ({
    keyid: k.id,
    method: "ecdsa",
    sig: sign("sha256", signingBytes(signed), { key: k.privateKey, dsaEncoding: "ieee-p1363" }).toString(
      "base64",
    ),
  }));
  return serializeEnvelope(signed, signatures);
}

export function signFile(role: string, signed: AnySigned, ...keys: TestKey[]): MetaFile {
  return parseMetaFile(role, signedBytes(signed, ...keys));
}

export const FAR_FUTURE = "2030-01-01T00:00:00Z";

/** A root with `rootKeys` (threshold `threshold`) and one key each for the other roles. */
export function rootSigned(
  version: number,
  rootKeys: TestKey[],
  k: { targets: TestKey | PublicKey; snapshot: TestKey | PublicKey; timestamp: TestKey | PublicKey },
  threshold = 1,
): RootSigned {
  const entry = (key: TestKey | PublicKey): [string, PublicKey] =>
    "privateKey" in key ? [key.id, key.pub] : [keyId(key), key];
  const [targets, snapshot, timestamp] = [entry(k.targets), entry(k.snapshot), entry(k.timestamp)];
  return {
    _type: "Root",
    version,
    expires: FAR_FUTURE,
    consistent_snapshot: false,
    keys: Object.fromEntries([...rootKeys.map(entry), targets, snapshot, timestamp]),
    roles: {
      root: { keyids: rootKeys.map((r) => r.id), threshold },
      targets: { keyids: [targets[0]], threshold: 1 },
      snapshot: { keyids: [snapshot[0]], threshold: 1 },
      timestamp: { keyids: [timestamp[0]], threshold: 1 },
    },
  };
}

export function targetsSigned(version: number, extra: Partial<TargetsSigned> = {}): TargetsSigned {
  return {
    _type: "Targets",
    version,
    expires: FAR_FUTURE,
    targets: { v1: fileMeta(new Uint8Array([1])) },
    ...extra,
  };
}
