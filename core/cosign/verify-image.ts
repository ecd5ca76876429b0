/**
 * Verifying an image's cosign signatures: each layer of its `.sig` manifest is a candidate, accepted only
 * if it is a simple-signing layer whose content matches its digest, whose signature verifies over those
 * exact bytes (with a given key, or a certificate chaining to given roots), whose payload names this very
 * image digest and carries the asked-for annotations, and, when Rekor keys are given, whose Rekor bundle
 * checks out offline. Every refusal names what was wrong.
 */
import type { KeyObject, X509Certificate } from "node:crypto";
import { sha256Hex } from "../digest.js";
import { fromBase64, isBase64 } from "../encoding.js";
import {
  type CertificateTrust,
  checkCertificateValidAt,
  type IdentityPolicy,
  parseCertificatesPem,
  verifiedCertificateKey,
} from "./certificate.js";
import { parseRekorBundle, verifyRekorBundle } from "./rekor-bundle.js";
import { verifyPayloadSignature } from "./signature.js";
import {
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  CHAIN_ANNOTATION,
  type Descriptor,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from "./signature-manifest.js";
import { signatureShapeProblem } from "./signature-shape.js";
import { SigstoreBundleError, verifyImageSignatureBundle } from "./sigstore-bundle.js";
import { parseSimpleSigningPayload, type SimpleSigningPayload } from "./simple-signing.js";

export type Verifier =
  | { kind: "keys"; keys: readonly KeyObject[] }
  | { kind: "certificate"; trust: CertificateTrust; policy: IdentityPolicy };

export interface ImageVerifyOptions {
  /** The digest of the image manifest being verified. */
  manifestDigest: string;
  verifier: Verifier;
  /** `-a key=value`: each must equal the payload's `optional[key]`. */
  annotations?: Readonly<Record<string, string>>;
  /** When given, each signature's Rekor bundle must verify with one of these keys. */
  rekorPublicKeys?: readonly KeyObject[];
  /** When a certificate without a verified Rekor time must be valid; defaults to now. */
  now?: Date;
}

export type RejectionCode =
  | "not-simple-signing"
  | "not-a-bundle"
  | "missing-content"
  | "digest-mismatch"
  | "no-signature"
  | "signature-not-base64"
  | "malformed-signature"
  | "bad-signature"
  | "not-a-payload"
  | "other-image"
  | "annotation-mismatch"
  | "certificate"
  | "rekor-bundle";

export interface VerifiedSignature {
  ok: true;
  index: number;
  layerDigest: string;
  /** `classic`: a layer of the `.sig` manifest; `bundle`: a Sigstore bundle referrer. */
  layout: "classic" | "bundle";
  /**
   * What cosign prints for it: the simple-signing payload itself, or for a bundle one built from its
   * statement (the predicate type standing as the type, as cosign shows it).
   */
  payload: SimpleSigningPayload & { type?: string };
  payloadBytes: Uint8Array;
  signatureBase64: string;
  /** When Rekor logged it, if its bundle was verified. */
  integratedTime?: Date;
}

export interface RejectedSignature {
  ok: false;
  index: number;
  layerDigest: string;
  code: RejectionCode;
  reason: string;
}

export type SignatureVerdict = VerifiedSignature | RejectedSignature;

/** One layer of a signature manifest and the bytes fetched for it (undefined when the blob is missing). */
export interface SignatureLayer {
  descriptor: Descriptor;
  content: Uint8Array | undefined;
}

class Rejection extends Error {
  constructor(
    readonly code: RejectionCode,
    message: string,
  ) {
    super(message);
  }
}

export function verifyImageSignatures(
  layers: readonly SignatureLayer[],
  options: ImageVerifyOptions,
): { verified: VerifiedSignature[]; rejected: RejectedSignature[] } {
  const verdicts = layers.map((layer, index) => verifySignatureLayer(layer, index, options));
  return {
    verified: verdicts.filter((v): v is VerifiedSignature => v.ok),
    rejected: verdicts.filter((v): v is RejectedSignature => !v.ok),
  };
}

export function verifySignatureLayer(
  layer: SignatureLayer,
  index: number,
  options: ImageVerifyOptions,
): SignatureVerdict {
  const layerDigest = layer.descriptor.digest;
  try {
    return { ok: true, index, layerDigest, layout: "classic", ...checkLayer(layer, options) };
  } catch (err) {
    if (!(err instanceof Rejection)) throw err;
    return {
      ok: false,
      index,
      layerDigest,
      code: err.code,
      reason: `signature ${index} (${layerDigest}): ${err.message}`,
    };
  }
}

function checkLayer(
  layer: SignatureLayer,
  options: ImageVerifyOptions,
): Omit<VerifiedSignature, "ok" | "index" | "layerDigest" | "layout"> {
  const { descriptor, content } = layer;
  if (descriptor.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE)
    throw new Rejection(
      "not-simple-signing",
      `layer media type is ${descriptor.mediaType}, not ${SIMPLE_SIGNING_MEDIA_TYPE}`,
    );
  if (content === undefined) throw new Rejection("missing-content", "the signed payload blob is missing");
  const actual = `sha256:${sha256Hex(content)}`;
  if (actual !== descriptor.digest || content.byteLength !== descriptor.size)
    throw new Rejection(
      "digest-mismatch",
      `the payload is ${actual} (${content.byteLength} bytes), the layer says ${descriptor.digest} (${descriptor.size} bytes)`,
    );
  const annotations = descriptor.annotations ?? {};
  const signatureBase64 = annotations[SIGNATURE_ANNOTATION];
  if (signatureBase64 === undefined)
    throw new Rejection("no-signature", `no ${SIGNATURE_ANNOTATION} annotation`);
  if (!isBase64(signatureBase64) || signatureBase64 === "")
    throw new Rejection("signature-not-base64", `the ${SIGNATURE_ANNOTATION} annotation is not base64`);
  const signature = fromBase64(signatureBase64);

  const signer = signerOf(annotations, options);
  const verifiedBy = checkSignature(signer.keys, content, signature);

  let payload: SimpleSigningPayload;
  try {
    payload = parseSimpleSigningPayload(content);
  } catch (err) {
    throw new Rejection("not-a-payload", `not a simple-signing payload: ${(err as Error).message}`);
  }
  if (payload.manifestDigest !== options.manifestDigest)
    throw new Rejection(
      "other-image",
      `the payload signs ${payload.manifestDigest}, not this image's ${options.manifestDigest}`,
    );
  for (const [key, expected] of Object.entries(options.annotations ?? {})) {
    const found = payload.optional?.[key];
    if (found !== expected)
      throw new Rejection(
        "annotation-mismatch",
        `annotation ${key} is ${found === undefined ? "missing" : JSON.stringify(found)}, not ${JSON.stringify(expected)}`,
      );
  }

  let integratedTime: Date | undefined;
  if (options.rekorPublicKeys) {
    const bundleText = annotations[BUNDLE_ANNOTATION];
    if (bundleText === undefined) throw new Rejection("rekor-bundle", `no ${BUNDLE_ANNOTATION} annotation`);
    try {
      integratedTime = verifyRekorBundle(parseRekorBundle(bundleText), options.rekorPublicKeys, {
        payload: content,
        signatureBase64,
        verifierDer: signer.certificate ? new Uint8Array(signer.certificate.raw) : spki(verifiedBy),
      });
    } catch (err) {
      throw new Rejection("rekor-bundle", (err as Error).message);
    }
  }
  if (signer.certificate) {
    try {
      checkCertificateValidAt(signer.certificate, integratedTime ?? options.now ?? new Date());
    } catch (err) {
      throw new Rejection("certificate", (err as Error).message);
    }
  }
  return { payload, payloadBytes: content, signatureBase64, ...(integratedTime ? { integratedTime } : {}) };
}

interface Signer {
  keys: readonly KeyObject[];
  /** Set for keyless signatures: then a Rekor entry must have logged this certificate, not a bare key. */
  certificate?: X509Certificate;
}

function signerOf(annotations: Record<string, string>, options: ImageVerifyOptions): Signer {
  const { verifier } = options;
  if (verifier.kind === "keys") {
    return { keys: verifier.keys };
  }
  const pem = annotations[CERTIFICATE_ANNOTATION];
  if (pem === undefined) throw new Rejection("certificate", `no ${CERTIFICATE_ANNOTATION} annotation`);
  try {
    const [leaf] = parseCertificatesPem(pem);
    if (!leaf) throw new Error(`the ${CERTIFICATE_ANNOTATION} annotation holds no certificate`);
    const chain = parseCertificatesPem(annotations[CHAIN_ANNOTATION] ?? "");
    const key = verifiedCertificateKey(
      leaf,
      { roots: verifier.trust.roots, intermediates: [...(verifier.trust.intermediates ?? []), ...chain] },
      verifier.policy,
    );
    return { keys: [key], certificate: leaf };
  } catch (err) {
    throw new Rejection("certificate", (err as Error).message);
  }
}

function checkSignature(keys: readonly KeyObject[], payload: Uint8Array, signature: Uint8Array): KeyObject {
  if (keys.length === 0) throw new Rejection("bad-signature", "no key to verify the signature with");
  const verifiedBy = keys.find((key) => verifyPayloadSignature(key, payload, signature));
  if (verifiedBy) return verifiedBy;
  const problems = keys.map((key) => signatureShapeProblem(signature, key));
  if (problems.every((p) => p !== undefined)) throw new Rejection("malformed-signature", problems[0] ?? "");
  throw new Rejection(
    "bad-signature",
    keys.length === 1
      ? "the signature does not verify with the given key"
      : `the signature does not verify with any of the ${keys.length} given keys`,
  );
}

function spki(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ format: "der", type: "spki" }));
}

/**
 * A Sigstore bundle (`--new-bundle-format`) as one more candidate, with the same verdict shape. Its
 * transparency log entries are not checked offline yet, so asking for Rekor refuses it rather than
 * passing it unchecked; nor can `-a` annotations be matched against a statement.
 */
export function verifyBundleSignature(
  bundle: { digest: string; content: Uint8Array | undefined },
  index: number,
  options: ImageVerifyOptions,
): SignatureVerdict {
  const layerDigest = bundle.digest;
  const reject = (code: RejectionCode, message: string): RejectedSignature => ({
    ok: false,
    index,
    layerDigest,
    code,
    reason: `signature ${index} (${layerDigest}): ${message}`,
  });
  if (bundle.content === undefined) return reject("missing-content", "the bundle blob is missing");
  const actual = `sha256:${sha256Hex(bundle.content)}`;
  if (actual !== layerDigest)
    return reject("digest-mismatch", `the bundle is ${actual}, the layer says ${layerDigest}`);
  if (options.rekorPublicKeys)
    return reject(
      "rekor-bundle",
      "transparency log entries of Sigstore bundles are not verified offline yet",
    );
  if (Object.keys(options.annotations ?? {}).length > 0)
    return reject("annotation-mismatch", "a Sigstore bundle's statement carries no annotations to match");
  const { verifier } = options;
  try {
    const verified = verifyImageSignatureBundle(
      bundle.content,
      options.manifestDigest,
      verifier.kind === "keys" ? verifier : { ...verifier, at: options.now ?? new Date() },
    );
    const subject = verified.statement.subject.find(
      (s) => `sha256:${s.digest?.sha256}` === options.manifestDigest,
    );
    return {
      ok: true,
      index,
      layerDigest,
      layout: "bundle",
      payload: {
        dockerReference: subject?.name ?? "",
        manifestDigest: options.manifestDigest,
        optional: {},
        type: verified.statement.predicateType,
      },
      payloadBytes: verified.payload,
      signatureBase64: verified.signatureBase64,
    };
  } catch (err) {
    if (err instanceof SigstoreBundleError) return reject(err.code, err.message);
    throw err;
  }
}
