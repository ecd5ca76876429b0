import { sha256Hex } from "../digest.js";
import { toHex, utf8 } from "../encoding.js";
import { TufError } from "../tuf/errors.js";
import { metaMatches, signingBytes } from "../tuf/generate.js";
import { parseMetaFile } from "../tuf/parse.js";
import { validSigners } from "../tuf/signatures.js";
import type {
  AnySigned,
  DelegatedRole,
  FileMeta,
  MetaFile,
  PublicKey,
  RoleKeys,
  RootSigned,
  SnapshotSigned,
  TargetsSigned,
  TimestampSigned,
} from "../tuf/types.js";

/**
 * A Notary client's side of TUF, as docker content trust runs it before a pull: a root it trusts, then
 * timestamp -> snapshot -> targets (-> targets/releases), each signed by the keys its parent names, each
 * matching the hashes its parent lists, none expired. Pure: the caller fetches the bytes.
 */
export class TrustDataError extends Error {
  override readonly name = "TrustDataError";
}

/** What the root must be anchored to: pinned key IDs (from the policy), a root seen before, or nothing yet. */
export type RootAnchor =
  | { kind: "keys"; keyIds: readonly string[] }
  | { kind: "pinned"; root: RootSigned }
  | { kind: "first-use" };

/** Docker content trust looks up a tag in the releases delegation first, then in targets. */
export const RELEASES_ROLE = "targets/releases";

function parse<T extends AnySigned>(role: string, bytes: Uint8Array): MetaFile<T> {
  try {
    return parseMetaFile(role, bytes) as MetaFile<T>;
  } catch (err) {
    if (err instanceof TufError) throw new TrustDataError(err.message);
    throw err;
  }
}

function requireSignatures(
  file: MetaFile,
  role: RoleKeys | undefined,
  keys: Readonly<Record<string, PublicKey>>,
  what: string,
): void {
  if (!role) throw new TrustDataError(`${file.role} has no keys in ${what}`);
  const valid = validSigners(file.envelope.signatures, role, keys, signingBytes(file.envelope.signed));
  if (valid.size < role.threshold)
    throw new TrustDataError(
      `${file.role} is not signed by enough keys of ${what} (${valid.size} of ${role.threshold})`,
    );
}

function requireUnexpired(file: MetaFile, now: Date): void {
  if (Date.parse(file.envelope.signed.expires) <= now.getTime())
    throw new TrustDataError(`${file.role} expired at ${file.envelope.signed.expires}`);
}

function requireListed(meta: FileMeta | undefined, file: MetaFile, parent: string): void {
  if (!meta) throw new TrustDataError(`${parent} does not list ${file.role}`);
  if (!metaMatches(meta, file.bytes))
    throw new TrustDataError(`${file.role} does not match the hashes ${parent} lists for it`);
}

/** The root, if it is self-signed, unexpired and anchored as `anchor` asks. */
export function verifyRoot(bytes: Uint8Array, anchor: RootAnchor, now: Date): RootSigned {
  const file = parse<RootSigned>("root", bytes);
  const root = file.envelope.signed;
  requireSignatures(file, root.roles.root, root.keys, "its own root role");
  requireUnexpired(file, now);
  if (anchor.kind === "keys") {
    const pinned = anchor.keyIds.filter((id) => root.roles.root?.keyids.includes(id));
    const valid = validSigners(
      file.envelope.signatures,
      { keyids: pinned, threshold: 1 },
      root.keys,
      signingBytes(root),
    );
    if (valid.size === 0)
      throw new TrustDataError("root is not signed by any of the root keys the policy pins");
  } else if (anchor.kind === "pinned") {
    const previous = anchor.root;
    const same = toHex(signingBytes(previous)) === toHex(signingBytes(root));
    if (!same) {
      if (root.version <= previous.version)
        throw new TrustDataError(
          `root version ${root.version} differs from the pinned root (version ${previous.version})`,
        );
      // A rotation is trusted only when the root keys already trusted sign the new root.
      requireSignatures(file, previous.roles.root, previous.keys, "the pinned root");
    }
  }
  return root;
}

export function verifyTimestamp(root: RootSigned, bytes: Uint8Array, now: Date): TimestampSigned {
  const file = parse<TimestampSigned>("timestamp", bytes);
  requireSignatures(file, root.roles.timestamp, root.keys, "the root");
  requireUnexpired(file, now);
  return file.envelope.signed;
}

export function verifySnapshot(
  root: RootSigned,
  timestamp: TimestampSigned,
  bytes: Uint8Array,
  now: Date,
): SnapshotSigned {
  const file = parse<SnapshotSigned>("snapshot", bytes);
  requireListed(timestamp.meta.snapshot, file, "timestamp");
  requireSignatures(file, root.roles.snapshot, root.keys, "the root");
  requireUnexpired(file, now);
  return file.envelope.signed;
}

export function verifyTargets(
  root: RootSigned,
  snapshot: SnapshotSigned,
  bytes: Uint8Array,
  now: Date,
): TargetsSigned {
  const file = parse<TargetsSigned>("targets", bytes);
  requireListed(snapshot.meta.targets, file, "snapshot");
  requireSignatures(file, root.roles.targets, root.keys, "the root");
  requireUnexpired(file, now);
  return file.envelope.signed;
}

/** The delegation `role` as its parent delegates it, or undefined when the parent delegates no such role. */
export function delegationOf(parent: TargetsSigned, role: string): DelegatedRole | undefined {
  return parent.delegations?.roles.find((r) => r.name === role);
}

/** A delegated targets role, keeping only the targets within the paths delegated to it. */
export function verifyDelegation(
  parent: TargetsSigned,
  snapshot: SnapshotSigned,
  role: string,
  bytes: Uint8Array,
  now: Date,
): TargetsSigned {
  const delegation = delegationOf(parent, role);
  if (!delegation || !parent.delegations) throw new TrustDataError(`${role} is not delegated`);
  const file = parse<TargetsSigned>(role, bytes);
  requireListed(snapshot.meta[role], file, "snapshot");
  requireSignatures(file, delegation, parent.delegations.keys, `the delegation of ${role}`);
  requireUnexpired(file, now);
  const signed = file.envelope.signed;
  const targets = Object.fromEntries(
    Object.entries(signed.targets).filter(([name]) => pathAllowed(delegation, name)),
  );
  return { ...signed, targets };
}

function pathAllowed(delegation: DelegatedRole, target: string): boolean {
  if (delegation.paths) return delegation.paths.some((prefix) => target.startsWith(prefix));
  if (delegation.path_hash_prefixes) {
    const hash = sha256Hex(utf8(target));
    return delegation.path_hash_prefixes.some((prefix) => hash.startsWith(prefix));
  }
  return false;
}

/** The manifest digest (`sha256:<hex>`) a target signs, if it names a sha256. */
export function targetDigest(meta: FileMeta): string | undefined {
  const sha256 = meta.hashes.sha256;
  if (typeof sha256 !== "string") return undefined;
  const hex = toHex(Buffer.from(sha256, "base64"));
  return hex.length === 64 ? `sha256:${hex}` : undefined;
}

/**
 * Whether verified targets roles (highest priority first) sign `digest` under `tag`, or under any tag
 * when the image was referenced by digest alone; the reason in words when they do not.
 */
export function checkSignedTarget(
  roles: readonly TargetsSigned[],
  tag: string | undefined,
  digest: string,
): { signed: true } | { signed: false; reason: string } {
  if (tag === undefined) {
    const any = roles.some((r) => Object.values(r.targets).some((meta) => targetDigest(meta) === digest));
    return any
      ? { signed: true }
      : { signed: false, reason: `Notary trust data signs no tag with ${digest}` };
  }
  for (const role of roles) {
    const meta = role.targets[tag];
    if (!meta) continue;
    const signedDigest = targetDigest(meta);
    if (signedDigest === digest) return { signed: true };
    return {
      signed: false,
      reason: `tag ${tag} is ${digest} in the registry but Notary trust data signs ${signedDigest ?? "no sha256"} for it`,
    };
  }
  return { signed: false, reason: `Notary trust data has no signed target for tag ${tag}` };
}
