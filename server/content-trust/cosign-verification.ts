/**
 * Whether an image in the registry carries a cosign signature that verifies with one of its project's
 * keys, in either layout: the layers of its `sha256-<hex>.sig` manifest (or of a cosign signature
 * referrer, which holds the same layers), or a Sigstore bundle referrer. The crypto and the strict checks
 * are core/cosign's; this reads what they need from the registry and words the verdict for a refusal.
 */
import type { KeyObject } from "node:crypto";
import { rekorEntrySignerKey } from "../../core/cosign/rekor-entry-key.js";
import { verifyPayloadSignature } from "../../core/cosign/signature.js";
import {
  BUNDLE_ANNOTATION,
  type Descriptor,
  parseSignatureManifest,
  SIGNATURE_ANNOTATION,
  type SignatureManifest,
  signatureTag,
} from "../../core/cosign/signature-manifest.js";
import { parseSigstoreBundle, publicKeyHint } from "../../core/cosign/sigstore-bundle.js";
import {
  type RejectedSignature,
  type RejectionCode,
  type SignatureVerdict,
  verifyBundleSignature,
  verifySignatureLayer,
} from "../../core/cosign/verify-image.js";
import { fromBase64 } from "../../core/encoding.js";
import type { Referrer, StoredManifest } from "../registry/registry-store.js";
import { isSigstoreBundleType } from "./accessories.js";

/** What verification reads of the registry. */
export interface SignatureSource {
  manifestByTag(repository: string, tag: string): Promise<StoredManifest | undefined>;
  manifestByDigest(repository: string, digest: string): Promise<StoredManifest | undefined>;
  referrers(repository: string, subject: string): Promise<Referrer[]>;
  /** A blob's bytes, or undefined when it is missing or larger than `maxBytes`. */
  blob(digest: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /** The digests of the repository's image indexes that list `digest` among their manifests. */
  indexesHolding(repository: string, digest: string): Promise<string[]>;
}

export type CosignVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly signed: false }
  | { readonly allowed: false; readonly signed: true; readonly reason: string };

/** cosign 2's signature manifest pushed as an OCI 1.1 referrer (its experimental OCI 1.1 mode). */
const COSIGN_SIGNATURE_ARTIFACT_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json";
// A simple-signing payload or a bundle is a few KiB; a larger blob cannot be one worth reading.
const MAX_SIGNATURE_BLOB_BYTES = 1024 * 1024;
const MAX_REASONS = 3;
// An image is in few indexes; a repository that lists it in more is not searched further.
const MAX_INDEXES = 8;

/**
 * The verdict for a manifest pulled by digest: its own signatures, or, when it has none that verify, a
 * signature of an index that lists it. `cosign sign` signs a multi-platform image's index only, and
 * docker pulls the index and then the platform's manifest by digest: the index's signature covers that
 * digest, as the index names it. A refusal speaks of the manifest's own signatures.
 */
export async function verifyPulledManifest(
  source: SignatureSource,
  repository: string,
  digest: string,
  keys: readonly KeyObject[],
): Promise<CosignVerdict> {
  const own = await verifyCosignSignatures(source, repository, digest, keys);
  if (own.allowed) return own;
  const indexes = (await source.indexesHolding(repository, digest)).slice(0, MAX_INDEXES);
  for (const index of indexes)
    if ((await verifyCosignSignatures(source, repository, index, keys)).allowed) return { allowed: true };
  return own;
}

export async function verifyCosignSignatures(
  source: SignatureSource,
  repository: string,
  digest: string,
  keys: readonly KeyObject[],
): Promise<CosignVerdict> {
  const [tagged, referrers] = await Promise.all([
    source.manifestByTag(repository, signatureTag(digest)),
    source.referrers(repository, digest),
  ]);
  const classicManifests = [
    ...(tagged ? [tagged] : []),
    ...(await manifestsOf(
      source,
      repository,
      referrers.filter((r) => r.artifactType === COSIGN_SIGNATURE_ARTIFACT_TYPE),
    )),
  ];
  const bundleManifests = await manifestsOf(
    source,
    repository,
    referrers.filter((r) => isSigstoreBundleType(r.artifactType)),
  );
  const options = { manifestDigest: digest, verifier: { kind: "keys", keys } } as const;
  const verdicts: SignatureVerdict[] = [];
  const problems: string[] = [];
  const refuse = (verdict: SignatureVerdict, fault: (v: RejectedSignature) => string = describe) => {
    verdicts.push(verdict);
    if (!verdict.ok) problems.push(fault(verdict));
  };

  for (const manifest of classicManifests) {
    const parsed = signatureManifestOf(manifest, problems);
    if (!parsed) continue;
    const contents = await Promise.all(
      parsed.layers.map((layer) => source.blob(layer.digest, MAX_SIGNATURE_BLOB_BYTES)),
    );
    parsed.layers.forEach((descriptor, index) => {
      const content = contents[index];
      const verdict = verifySignatureLayer({ descriptor, content }, verdicts.length, options);
      refuse(verdict, (rejected) => describeClassic(rejected, descriptor, content, keys));
    });
  }
  for (const manifest of bundleManifests) {
    const parsed = signatureManifestOf(manifest, problems);
    if (!parsed) continue;
    const layers = parsed.layers.filter((l) => isSigstoreBundleType(l.mediaType));
    const contents = await Promise.all(
      layers.map((layer) => source.blob(layer.digest, MAX_SIGNATURE_BLOB_BYTES)),
    );
    layers.forEach((layer, index) => {
      const content = contents[index];
      const verdict = verifyBundleSignature({ digest: layer.digest, content }, verdicts.length, options);
      refuse(verdict, (rejected) => describeBundle(rejected, content, keys));
    });
  }

  if (verdicts.some((v) => v.ok)) return { allowed: true };
  if (problems.length === 0) return { allowed: false, signed: false };
  if (keys.length === 0)
    return { allowed: false, signed: true, reason: "the project trusts no cosign key to verify it with" };
  const shown = problems.slice(0, MAX_REASONS).join("; ");
  const more = problems.length > MAX_REASONS ? ` (and ${problems.length - MAX_REASONS} more)` : "";
  return { allowed: false, signed: true, reason: shown + more };
}

async function manifestsOf(
  source: SignatureSource,
  repository: string,
  referrers: readonly Referrer[],
): Promise<StoredManifest[]> {
  const found = await Promise.all(referrers.map((r) => source.manifestByDigest(repository, r.digest)));
  return found.filter((m): m is StoredManifest => m !== undefined);
}

function signatureManifestOf(manifest: StoredManifest, problems: string[]): SignatureManifest | undefined {
  try {
    return parseSignatureManifest(manifest.content);
  } catch (err) {
    problems.push(`signature manifest ${manifest.digest}: ${(err as Error).message}`);
    return undefined;
  }
}

// What a person needs to read first: which fault, then core/cosign's detail.
const FAULT: Readonly<Record<RejectionCode, string>> = {
  "not-simple-signing": "a signature layer is not a simple-signing layer",
  "not-a-bundle": "a signature is not a Sigstore bundle",
  "missing-content": "a signature's payload is missing from the registry",
  "digest-mismatch": "a signature's payload is not the blob its layer names",
  "no-signature": "a signature layer carries no signature",
  "signature-not-base64": "a signature is not base64",
  "malformed-signature": "a signature is malformed",
  "bad-signature":
    "a signature does not verify with the project's keys (signed with a key the project does not trust, or the payload was changed after signing)",
  "not-a-payload": "a signed payload is not a simple-signing payload",
  "other-image": "a signature is for another digest",
  "annotation-mismatch": "a signature's annotations do not match",
  certificate: "a signature's certificate is not trusted",
  "rekor-bundle": "a signature's Rekor bundle does not verify",
};

function describe(verdict: RejectedSignature): string {
  return `${FAULT[verdict.code]}: ${verdict.reason}`;
}

/**
 * A classic signature names no key, so "does not verify" cannot tell another key from a changed payload;
 * a Rekor bundle in its annotations names the key that was logged, and when that key verifies the
 * signature and the project does not trust it, the refusal can say so.
 */
function describeClassic(
  verdict: RejectedSignature,
  descriptor: Descriptor,
  content: Uint8Array | undefined,
  keys: readonly KeyObject[],
): string {
  const bundle = descriptor.annotations?.[BUNDLE_ANNOTATION];
  const signature = descriptor.annotations?.[SIGNATURE_ANNOTATION];
  if (verdict.code !== "bad-signature" || !bundle || !signature || !content) return describe(verdict);
  const logged = rekorEntrySignerKey(bundle);
  if (!logged || keys.some((key) => key.equals(logged))) return describe(verdict);
  if (!verifyPayloadSignature(logged, content, fromBase64(signature))) return describe(verdict);
  return `a signature was made with a key the project does not trust (the one its Rekor entry names): ${verdict.reason}`;
}

/**
 * A bundle names its key by a hint (the SHA-256 of the key): when no trusted key has that hint, the
 * signature was made with a key the project does not trust, which says more than "does not verify".
 */
function describeBundle(
  verdict: RejectedSignature,
  content: Uint8Array | undefined,
  keys: readonly KeyObject[],
): string {
  if (verdict.code !== "bad-signature" || content === undefined) return describe(verdict);
  const hint = parseSigstoreBundle(content).verificationMaterial.publicKey?.hint;
  if (hint === undefined || keys.some((key) => publicKeyHint(key) === hint))
    return `a signature does not verify with the key it names, which the project trusts (its statement or signature was changed after signing): ${verdict.reason}`;
  return `a signature was made with a key the project does not trust: ${verdict.reason}`;
}
