import { toHex } from "../encoding.js";
import { type MetaFile, TARGETS, type TargetsSigned } from "./types.js";

/**
 * The sha256 digests (hex) that a repository's trust data signs: every target of `targets` and of the
 * delegated roles it reaches, as a `DOCKER_CONTENT_TRUST` client would find them. Expired roles sign
 * nothing, because a client would refuse them too.
 */
export function signedDigests(files: ReadonlyMap<string, MetaFile>, now: Date): Set<string> {
  const digests = new Set<string>();
  const visit = (role: string, seen: Set<string>) => {
    if (seen.has(role)) return;
    seen.add(role);
    const signed = files.get(role)?.envelope.signed as TargetsSigned | undefined;
    if (!signed || Date.parse(signed.expires) <= now.getTime()) return;
    for (const meta of Object.values(signed.targets)) {
      const sha256 = meta.hashes.sha256;
      if (typeof sha256 === "string") digests.add(toHex(Buffer.from(sha256, "base64")));
    }
    for (const delegation of signed.delegations?.roles ?? []) visit(delegation.name, seen);
  };
  visit(TARGETS, new Set());
  return digests;
}
