import { createHash, type Hash } from "node:crypto";

/** The algorithms the OCI image spec registers; sha256 is what this registry computes for manifests. */
export type DigestAlgorithm = "sha256" | "sha512";

const ENCODED: Record<DigestAlgorithm, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

export interface ParsedDigest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  /** `algorithm:hex`, the form digests take in URLs, headers and manifests. */
  readonly value: string;
}

function isAlgorithm(name: string): name is DigestAlgorithm {
  return Object.hasOwn(ENCODED, name);
}

/** A digest of a registered algorithm with a well-formed encoding, else undefined. */
export function parseDigest(text: string): ParsedDigest | undefined {
  const colon = text.indexOf(":");
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  if (colon < 0 || !isAlgorithm(algorithm) || !ENCODED[algorithm].test(hex)) return undefined;
  return { algorithm, hex, value: text };
}

export function createDigester(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}
