import { sha256Hex } from "../digest.js";
import { badHierarchy, badRoot, badSnapshot, badTargets, invalid, TufError } from "./errors.js";
import { buildSnapshot, metaMatches, signingBytes } from "./generate.js";
import { validSigners } from "./signatures.js";
import {
  type DelegatedRole,
  isDelegation,
  isTargetsRole,
  type MetaFile,
  type PublicKey,
  parentRole,
  ROOT,
  type RoleKeys,
  type RootSigned,
  SNAPSHOT,
  type SnapshotSigned,
  TARGETS,
  type TargetsSigned,
  TIMESTAMP,
} from "./types.js";

/** The key IDs the server holds for one repository, newest first. */
export interface ServerKeyIds {
  snapshot: readonly string[];
  timestamp: readonly string[];
}

export type SnapshotPlan =
  | { signedBy: "client" }
  | { signedBy: "server"; keyId: string; signed: SnapshotSigned };

export interface PublishPlan {
  /** The root in force once the publish is applied. */
  root: RootSigned;
  /** The client's files, validated, in the order they should be stored. */
  accepted: MetaFile[];
  snapshot: SnapshotPlan;
  timestampKeyId: string;
}

/**
 * Decides whether `updates` may be applied on top of what is stored (`current`: the latest file of each
 * role), as notary-server does: root rotations signed by the old and the new root, versions that move
 * forward, signatures meeting each role's threshold with the keys its parent delegates, snapshot hashes
 * matching the files it lists, nothing expired. Pure: the caller stores the result in one transaction.
 */
export function planPublish(
  current: ReadonlyMap<string, MetaFile>,
  updates: readonly MetaFile[],
  serverKeys: ServerKeyIds,
  now: Date,
): PublishPlan {
  const byRole = new Map<string, MetaFile>();
  for (const file of updates) {
    if (byRole.has(file.role)) throw invalid(`${file.role} sent twice`);
    if (file.role === TIMESTAMP) throw invalid("timestamp is signed by the server; it cannot be uploaded");
    byRole.set(file.role, file);
  }
  const effective = (role: string) => byRole.get(role) ?? current.get(role);

  const root = checkRoot(current.get(ROOT) as MetaFile<RootSigned> | undefined, byRole.get(ROOT), now);
  const accepted: MetaFile[] = [];
  if (byRole.has(ROOT)) accepted.push(byRole.get(ROOT) as MetaFile);

  const targetsUpdates = [...byRole.values()]
    .filter((f) => isTargetsRole(f.role))
    .sort((a, b) => depth(a.role) - depth(b.role));
  for (const file of targetsUpdates) {
    checkTargets(file as MetaFile<TargetsSigned>, root, current, effective, now);
    accepted.push(file);
  }
  if (!effective(TARGETS)) throw badHierarchy("no targets metadata: the first publish must include targets");

  const clientSnapshot = byRole.get(SNAPSHOT) as MetaFile<SnapshotSigned> | undefined;
  let snapshot: SnapshotPlan;
  if (clientSnapshot) {
    checkClientSnapshot(clientSnapshot, root, current, byRole, effective, now);
    accepted.push(clientSnapshot);
    snapshot = { signedBy: "client" };
  } else {
    const keyId = serverKeyFor(root, "snapshot", serverKeys.snapshot);
    if (!keyId)
      throw badHierarchy(
        "no snapshot was included in update and server does not hold current snapshot key for repository",
      );
    const changed = new Map<string, Uint8Array>();
    for (const role of [ROOT, TARGETS]) changed.set(role, (effective(role) as MetaFile).bytes);
    for (const file of targetsUpdates) changed.set(file.role, file.bytes);
    const previous = current.get(SNAPSHOT)?.envelope.signed as SnapshotSigned | undefined;
    snapshot = { signedBy: "server", keyId, signed: buildSnapshot(previous, changed, now) };
  }

  const timestampKeyId = serverKeyFor(root, "timestamp", serverKeys.timestamp);
  if (!timestampKeyId)
    throw badRoot("the root's timestamp key is not one this server holds for the repository");
  return { root, accepted, snapshot, timestampKeyId };
}

/** The newest server-held key the root lists for `role`, if the server can meet the role's threshold alone. */
export function serverKeyFor(
  root: RootSigned,
  role: "snapshot" | "timestamp",
  held: readonly string[],
): string | undefined {
  const roleKeys = root.roles[role];
  if (roleKeys?.threshold !== 1) return undefined;
  return held.find((id) => roleKeys.keyids.includes(id));
}

function checkRoot(
  previous: MetaFile<RootSigned> | undefined,
  update: MetaFile | undefined,
  now: Date,
): RootSigned {
  if (!update) {
    if (!previous) throw invalid("no pre-existing root and no root provided in update");
    return previous.envelope.signed;
  }
  const root = update.envelope.signed as RootSigned;
  const currentVersion = previous?.envelope.signed.version ?? 0;
  if (root.version <= currentVersion) throw oldVersion(ROOT, root.version, currentVersion);
  if (root.version !== currentVersion + 1)
    throw badRoot(
      `root modifications must increment the version by one: current ${currentVersion}, new ${root.version}`,
    );
  notExpired(ROOT, root.expires, now, badRoot);
  const data = signingBytes(root);
  meetsThreshold(update, root.roles[ROOT] as RoleKeys, root.keys, data, "root", badRoot);
  if (previous) {
    const old = previous.envelope.signed;
    meetsThreshold(update, old.roles[ROOT] as RoleKeys, old.keys, data, "the previous root's keys", badRoot);
  }
  return root;
}

function checkTargets(
  file: MetaFile<TargetsSigned>,
  root: RootSigned,
  current: ReadonlyMap<string, MetaFile>,
  effective: (role: string) => MetaFile | undefined,
  now: Date,
): void {
  const signed = file.envelope.signed;
  const stored = current.get(file.role)?.envelope.signed.version ?? 0;
  if (signed.version <= stored) throw oldVersion(file.role, signed.version, stored);
  notExpired(file.role, signed.expires, now, badTargets);
  const data = signingBytes(signed);
  if (file.role === TARGETS) {
    meetsThreshold(file, root.roles[TARGETS] as RoleKeys, root.keys, data, TARGETS, badTargets);
    return;
  }
  const parentName = parentRole(file.role);
  const parent = effective(parentName)?.envelope.signed as TargetsSigned | undefined;
  if (!parent) throw badTargets(`${file.role}: parent role ${parentName} does not exist`);
  const delegation = parent.delegations?.roles.find((r) => r.name === file.role);
  if (!delegation || !parent.delegations) throw badTargets(`${file.role} is not delegated by ${parentName}`);
  meetsThreshold(file, delegation, parent.delegations.keys, data, file.role, badTargets);
  for (const target of Object.keys(signed.targets)) {
    if (!pathAllowed(delegation, target))
      throw badTargets(`${file.role} signs ${target}, which is outside the paths delegated to it`);
  }
}

function checkClientSnapshot(
  file: MetaFile<SnapshotSigned>,
  root: RootSigned,
  current: ReadonlyMap<string, MetaFile>,
  updates: ReadonlyMap<string, MetaFile>,
  effective: (role: string) => MetaFile | undefined,
  now: Date,
): void {
  const signed = file.envelope.signed;
  const stored = current.get(SNAPSHOT)?.envelope.signed.version ?? 0;
  if (signed.version <= stored) throw oldVersion(SNAPSHOT, signed.version, stored);
  notExpired(SNAPSHOT, signed.expires, now, badSnapshot);
  meetsThreshold(
    file,
    root.roles[SNAPSHOT] as RoleKeys,
    root.keys,
    signingBytes(signed),
    SNAPSHOT,
    badSnapshot,
  );
  const mustMatch = new Set([ROOT, TARGETS, ...[...updates.keys()].filter(isDelegation)]);
  for (const role of mustMatch) {
    const meta = signed.meta[role];
    const bytes = (effective(role) as MetaFile).bytes;
    if (!meta) throw badSnapshot(`snapshot does not list ${role}`);
    if (!metaMatches(meta, bytes))
      throw badSnapshot(`snapshot's hashes or length for ${role} do not match ${role}`);
  }
}

function meetsThreshold(
  file: MetaFile,
  role: RoleKeys,
  keys: Readonly<Record<string, PublicKey>>,
  data: Uint8Array,
  what: string,
  error: (msg: string) => TufError,
): void {
  const valid = validSigners(file.envelope.signatures, role, keys, data);
  if (valid.size < role.threshold)
    throw error(
      `${file.role} is not signed by enough of ${what}: valid signatures from ${valid.size} of the ${role.threshold} keys required`,
    );
}

function notExpired(role: string, expires: string, now: Date, error: (msg: string) => TufError): void {
  if (Date.parse(expires) <= now.getTime()) throw error(`${role} expired at ${expires}`);
}

function oldVersion(role: string, version: number, stored: number): TufError {
  return new TufError(
    "ErrOldVersion",
    `${role} version ${version} is not newer than the stored version ${stored}`,
  );
}

function pathAllowed(delegation: DelegatedRole, target: string): boolean {
  if (delegation.paths) return delegation.paths.some((prefix) => target.startsWith(prefix));
  if (delegation.path_hash_prefixes) {
    const hash = sha256Hex(new TextEncoder().encode(target));
    return delegation.path_hash_prefixes.some((prefix) => hash.startsWith(prefix));
  }
  return false;
}

function depth(role: string): number {
  return role.split("/").length;
}
