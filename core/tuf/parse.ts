import { TufError } from "./errors.js";
import { keyId } from "./keys.js";
import {
  type AnySigned,
  type DelegatedRole,
  type Envelope,
  type FileMeta,
  isDelegation,
  type MetaFile,
  type PublicKey,
  ROOT,
  type RoleKeys,
  SNAPSHOT,
  TARGETS,
  TIMESTAMP,
} from "./types.js";

type Json = Record<string, unknown>;

const TYPE_OF_ROLE: Record<string, AnySigned["_type"]> = {
  [ROOT]: "Root",
  [TARGETS]: "Targets",
  [SNAPSHOT]: "Snapshot",
  [TIMESTAMP]: "Timestamp",
};

/**
 * Parses and structurally checks one metadata file for `role`. Errors carry the notary error name of the
 * role (ErrBadRoot for root, ...), so a malformed root reads as notary says it.
 */
export function parseMetaFile(role: string, bytes: Uint8Array): MetaFile {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new TufError("ErrMalformedJSON", `${role} is not valid JSON`);
  }
  const fail = (msg: string) => errorFor(role, `${role}: ${msg}`);
  if (!isObject(json) || !isObject(json.signed) || !Array.isArray(json.signatures)) {
    throw fail("expected {signed, signatures}");
  }
  for (const sig of json.signatures) {
    if (
      !isObject(sig) ||
      typeof sig.keyid !== "string" ||
      typeof sig.method !== "string" ||
      typeof sig.sig !== "string"
    )
      throw fail("malformed signature entry");
  }
  const signed = json.signed;
  const expectedType = isDelegation(role) ? "Targets" : TYPE_OF_ROLE[role];
  if (!expectedType) throw new TufError("ErrInvalidRole", `unknown role ${role}`);
  if (signed._type !== expectedType) throw fail(`_type must be ${expectedType}`);
  if (!isPositiveInt(signed.version)) throw fail("version must be a positive integer");
  if (typeof signed.expires !== "string" || Number.isNaN(Date.parse(signed.expires)))
    throw fail("expires must be an RFC 3339 time");
  switch (expectedType) {
    case "Root":
      checkRoot(signed, fail);
      break;
    case "Targets":
      checkTargets(role, signed, fail);
      break;
    default:
      if (!isObject(signed.meta)) throw fail("meta must be an object");
      for (const [name, meta] of Object.entries(signed.meta)) checkFileMeta(meta, `meta ${name}`, fail);
  }
  return { role, bytes, envelope: json as unknown as Envelope };
}

function checkRoot(signed: Json, fail: (m: string) => TufError): void {
  checkKeys(signed.keys, "keys", fail);
  if (!isObject(signed.roles)) throw fail("roles must be an object");
  for (const base of [ROOT, TARGETS, SNAPSHOT, TIMESTAMP]) {
    const role = signed.roles[base];
    if (!isRoleKeys(role)) throw fail(`role ${base} must have keyids and a threshold of at least 1`);
    for (const id of role.keyids)
      if (!(id in (signed.keys as Json))) throw fail(`role ${base} names unknown key ${id}`);
  }
}

function checkTargets(role: string, signed: Json, fail: (m: string) => TufError): void {
  if (!isObject(signed.targets)) throw fail("targets must be an object");
  for (const [name, meta] of Object.entries(signed.targets)) checkFileMeta(meta, `target ${name}`, fail);
  if (signed.delegations === undefined || signed.delegations === null) return;
  const delegations = signed.delegations;
  if (!isObject(delegations) || !Array.isArray(delegations.roles))
    throw fail("delegations must have keys and roles");
  checkKeys(delegations.keys, "delegation keys", fail);
  const seen = new Set<string>();
  for (const entry of delegations.roles) {
    if (!isObject(entry) || typeof entry.name !== "string" || !isRoleKeys(entry))
      throw fail("each delegation needs a name, keyids and a threshold of at least 1");
    const d = entry as unknown as DelegatedRole;
    if (!isDelegation(d.name) || d.name.slice(0, d.name.lastIndexOf("/")) !== role)
      throw fail(`delegation ${d.name} is not a direct child of ${role}`);
    if (seen.has(d.name)) throw fail(`delegation ${d.name} is listed twice`);
    seen.add(d.name);
    for (const id of d.keyids)
      if (!(id in (delegations.keys as Json))) throw fail(`delegation ${d.name} names unknown key ${id}`);
    const hasPaths = d.paths !== undefined && d.paths !== null;
    const hasPrefixes = d.path_hash_prefixes !== undefined && d.path_hash_prefixes !== null;
    if (hasPaths && hasPrefixes) throw fail(`delegation ${d.name} has both paths and path_hash_prefixes`);
    if (hasPaths && !isStringArray(d.paths)) throw fail(`delegation ${d.name} paths must be strings`);
    if (hasPrefixes && !isStringArray(d.path_hash_prefixes))
      throw fail(`delegation ${d.name} path_hash_prefixes must be strings`);
  }
}

function checkKeys(keys: unknown, what: string, fail: (m: string) => TufError): void {
  if (!isObject(keys)) throw fail(`${what} must be an object`);
  for (const [id, key] of Object.entries(keys)) {
    if (
      !isObject(key) ||
      typeof key.keytype !== "string" ||
      !isObject(key.keyval) ||
      typeof key.keyval.public !== "string"
    )
      throw fail(`${what}: key ${id} is malformed`);
    if (keyId(key as unknown as PublicKey) !== id) throw fail(`${what}: key ID ${id} does not match its key`);
  }
}

function checkFileMeta(meta: unknown, what: string, fail: (m: string) => TufError): asserts meta is FileMeta {
  if (
    !isObject(meta) ||
    !Number.isSafeInteger(meta.length) ||
    (meta.length as number) < 0 ||
    !isObject(meta.hashes)
  )
    throw fail(`${what} needs a length and hashes`);
  for (const value of Object.values(meta.hashes))
    if (typeof value !== "string") throw fail(`${what} has a bad hash`);
}

function errorFor(role: string, msg: string): TufError {
  if (role === ROOT) return new TufError("ErrBadRoot", msg);
  if (role === SNAPSHOT) return new TufError("ErrBadSnapshot", msg);
  if (role === TIMESTAMP) return new TufError("ErrValidation", msg);
  return new TufError("ErrBadTargets", msg);
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPositiveInt(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

function isRoleKeys(value: unknown): value is RoleKeys {
  return isObject(value) && isStringArray(value.keyids) && isPositiveInt(value.threshold);
}
