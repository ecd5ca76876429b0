/** TUF metadata as notary 0.7 writes it: the shapes the trust server validates, stores and generates. */

export const ROOT = "root";
export const TARGETS = "targets";
export const SNAPSHOT = "snapshot";
export const TIMESTAMP = "timestamp";
export type BaseRole = typeof ROOT | typeof TARGETS | typeof SNAPSHOT | typeof TIMESTAMP;
export const BASE_ROLES: readonly BaseRole[] = [ROOT, TARGETS, SNAPSHOT, TIMESTAMP];

export interface PublicKey {
  keytype: string;
  keyval: { public: string; private?: string | null };
}

export interface Signature {
  keyid: string;
  method: string;
  sig: string;
}

export interface RoleKeys {
  keyids: string[];
  threshold: number;
}

export interface FileMeta {
  length: number;
  hashes: Record<string, string>;
  custom?: unknown;
}

export interface RootSigned {
  _type: "Root";
  version: number;
  expires: string;
  consistent_snapshot?: boolean;
  keys: Record<string, PublicKey>;
  roles: Record<string, RoleKeys>;
}

export interface DelegatedRole extends RoleKeys {
  name: string;
  paths?: string[];
  path_hash_prefixes?: string[];
}

export interface Delegations {
  keys: Record<string, PublicKey>;
  roles: DelegatedRole[];
}

export interface TargetsSigned {
  _type: "Targets";
  version: number;
  expires: string;
  targets: Record<string, FileMeta>;
  delegations?: Delegations;
}

export interface SnapshotSigned {
  _type: "Snapshot";
  version: number;
  expires: string;
  meta: Record<string, FileMeta>;
}

export interface TimestampSigned {
  _type: "Timestamp";
  version: number;
  expires: string;
  meta: Record<string, FileMeta>;
}

export type AnySigned = RootSigned | TargetsSigned | SnapshotSigned | TimestampSigned;

export interface Envelope<T extends AnySigned = AnySigned> {
  signed: T;
  signatures: Signature[];
}

/** A metadata file as it travels and is stored: the exact bytes, and what they parse to. */
export interface MetaFile<T extends AnySigned = AnySigned> {
  role: string;
  bytes: Uint8Array;
  envelope: Envelope<T>;
}

/** `targets/releases` and deeper names are delegations; their parent is the name without the last part. */
export function isDelegation(role: string): boolean {
  return role.startsWith(`${TARGETS}/`) && role.length > TARGETS.length + 1;
}

export function parentRole(role: string): string {
  return role.slice(0, role.lastIndexOf("/"));
}

export function isTargetsRole(role: string): boolean {
  return role === TARGETS || isDelegation(role);
}
