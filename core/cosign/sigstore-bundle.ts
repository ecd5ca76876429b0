/**
 * cosign's newer layout (`--new-bundle-format`): a Sigstore bundle v0.3 (its protobuf JSON) holding a DSSE
 * envelope around an in-toto statement whose subject is the image digest and whose predicate type is
 * cosign's signing predicate; stored as an OCI 1.1 referrer of the image.
 */
import { createHash, createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { sha256Hex } from "../digest.js";
import { fromBase64, isBase64, toBase64, utf8 } from "../encoding.js";
import {
  type CertificateTrust,
  checkCertificateValidAt,
  type IdentityPolicy,
  verifiedCertificateKey,
} from "./certificate.js";
import { signPayload, verifyPayloadSignature } from "./signature.js";
import { type Descriptor, OCI_MANIFEST_MEDIA_TYPE } from "./signature-manifest.js";
import { signatureShapeProblem } from "./signature-shape.js";

export const SIGSTORE_BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
/** The spec's other spelling of the same version. */
const SIGSTORE_BUNDLE_MEDIA_TYPE_PARAMETER = "application/vnd.dev.sigstore.bundle+json;version=0.3";
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
export const IN_TOTO_STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const COSIGN_SIGN_PREDICATE_TYPE = "https://sigstore.dev/cosign/sign/v1";
export const OCI_EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json";
export const BUNDLE_CONTENT_ANNOTATION = "dev.sigstore.bundle.content";
export const BUNDLE_PREDICATE_TYPE_ANNOTATION = "dev.sigstore.bundle.predicateType";

export interface SigstoreBundle {
  mediaType: string;
  verificationMaterial: {
    publicKey?: { hint: string };
    certificate?: { rawBytes: string };
    tlogEntries: unknown[];
    timestampVerificationData?: { rfc3161Timestamps?: unknown[] };
  };
  dsseEnvelope: {
    payload: string;
    payloadType: string;
    signatures: { sig: string; keyid?: string }[];
  };
}

export type BundleRejectionCode =
  | "not-a-bundle"
  | "bad-signature"
  | "malformed-signature"
  | "not-a-payload"
  | "other-image"
  | "certificate";

export class SigstoreBundleError extends Error {
  override readonly name = "SigstoreBundleError";
  constructor(
    readonly code: BundleRejectionCode,
    message: string,
  ) {
    super(message);
  }
}

/** DSSE's pre-authentication encoding: what the envelope's signature is over. */
export function dssePreAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

/** The hint a bundle names its public key by: the SHA-256 of its PKIX DER, base64 (as sigstore-go). */
export function publicKeyHint(key: KeyObject): string {
  return createHash("sha256")
    .update((key.type === "private" ? createPublicKey(key) : key).export({ format: "der", type: "spki" }))
    .digest("base64");
}

export interface ImageStatement {
  /** The image's repository, e.g. `127.0.0.1:5000/library/app`. */
  repository: string;
  manifestDigest: string;
}

export function buildImageStatement(image: ImageStatement): Uint8Array {
  const [algorithm, hex] = image.manifestDigest.split(":");
  if (algorithm !== "sha256" || !hex || !/^[0-9a-f]{64}$/.test(hex))
    throw new SigstoreBundleError("not-a-payload", `not a sha256 image digest: ${image.manifestDigest}`);
  return utf8(
    JSON.stringify({
      _type: IN_TOTO_STATEMENT_TYPE,
      subject: [{ name: image.repository, digest: { sha256: hex } }],
      predicateType: COSIGN_SIGN_PREDICATE_TYPE,
      predicate: {},
    }),
  );
}

/** A bundle signing the image with a key, without a transparency log entry (as with --tlog-upload=false). */
export function buildImageSignatureBundle(privateKey: KeyObject, image: ImageStatement): Uint8Array {
  const payload = buildImageStatement(image);
  const signature = signPayload(privateKey, dssePreAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload));
  const bundle: SigstoreBundle = {
    mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint: publicKeyHint(privateKey) }, tlogEntries: [] },
    dsseEnvelope: {
      payload: toBase64(payload),
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      signatures: [{ sig: toBase64(signature), keyid: "" }],
    },
  };
  return utf8(JSON.stringify(bundle));
}

export function parseSigstoreBundle(bytes: Uint8Array): SigstoreBundle {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new SigstoreBundleError("not-a-bundle", "the bundle is not JSON");
  }
  const bundle = value as Partial<SigstoreBundle> | null;
  if (typeof bundle !== "object" || bundle === null)
    throw new SigstoreBundleError("not-a-bundle", "the bundle is not an object");
  if (
    bundle.mediaType !== SIGSTORE_BUNDLE_MEDIA_TYPE &&
    bundle.mediaType !== SIGSTORE_BUNDLE_MEDIA_TYPE_PARAMETER
  )
    throw new SigstoreBundleError(
      "not-a-bundle",
      `the bundle's media type is ${JSON.stringify(bundle.mediaType)}, not ${SIGSTORE_BUNDLE_MEDIA_TYPE}`,
    );
  const material = bundle.verificationMaterial;
  if (typeof material !== "object" || material === null)
    throw new SigstoreBundleError("not-a-bundle", "the bundle has no verificationMaterial");
  const hasKey = typeof material.publicKey?.hint === "string";
  const hasCertificate = typeof material.certificate?.rawBytes === "string";
  if (hasKey === hasCertificate)
    throw new SigstoreBundleError(
      "not-a-bundle",
      "the bundle's verificationMaterial names neither exactly one public key nor one certificate",
    );
  const envelope = bundle.dsseEnvelope;
  if (typeof envelope !== "object" || envelope === null)
    throw new SigstoreBundleError(
      "not-a-bundle",
      "the bundle holds no dsseEnvelope (a message signature does not sign an image)",
    );
  if (
    typeof envelope.payload !== "string" ||
    !isBase64(envelope.payload) ||
    typeof envelope.payloadType !== "string"
  )
    throw new SigstoreBundleError("not-a-bundle", "the DSSE envelope has no base64 payload and payloadType");
  if (!Array.isArray(envelope.signatures) || envelope.signatures.length !== 1)
    throw new SigstoreBundleError("not-a-bundle", "the DSSE envelope must carry exactly one signature");
  const [signature] = envelope.signatures;
  if (typeof signature?.sig !== "string" || !isBase64(signature.sig) || signature.sig === "")
    throw new SigstoreBundleError("not-a-bundle", "the DSSE signature is not base64");
  return bundle as SigstoreBundle;
}

export type BundleVerifier =
  | { kind: "keys"; keys: readonly KeyObject[] }
  | { kind: "certificate"; trust: CertificateTrust; policy: IdentityPolicy; at: Date };

/**
 * Verifies a bundle as a signature of the image `manifestDigest`: the DSSE signature over the
 * pre-authentication encoding, then an in-toto statement of cosign's predicate type whose subject is
 * that digest. Throws SigstoreBundleError naming what was wrong.
 */
export function verifyImageSignatureBundle(
  bytes: Uint8Array,
  manifestDigest: string,
  verifier: BundleVerifier,
): { statement: InTotoStatement; payload: Uint8Array; signatureBase64: string } {
  const bundle = parseSigstoreBundle(bytes);
  const payload = fromBase64(bundle.dsseEnvelope.payload);
  const signature = fromBase64(bundle.dsseEnvelope.signatures[0]?.sig ?? "");
  const signed = dssePreAuthEncoding(bundle.dsseEnvelope.payloadType, payload);
  const keys = signingKeys(bundle, verifier);
  if (!keys.some((key) => verifyPayloadSignature(key, signed, signature))) {
    const problems = keys.map((key) => signatureShapeProblem(signature, key));
    const [first] = problems;
    if (first !== undefined && problems.every((p) => p !== undefined))
      throw new SigstoreBundleError("malformed-signature", `the bundle's DSSE signature: ${first}`);
    throw new SigstoreBundleError(
      "bad-signature",
      "the bundle's DSSE signature does not verify with the given key",
    );
  }
  if (bundle.dsseEnvelope.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    throw new SigstoreBundleError(
      "not-a-payload",
      `the DSSE payload type is ${bundle.dsseEnvelope.payloadType}, not ${IN_TOTO_PAYLOAD_TYPE}`,
    );
  const statement = parseStatement(payload);
  const hex = manifestDigest.replace(/^sha256:/, "");
  if (!statement.subject.some((s) => s.digest?.sha256 === hex))
    throw new SigstoreBundleError(
      "other-image",
      `the statement's subject is ${statement.subject.map((s) => `sha256:${s.digest?.sha256}`).join(", ")}, not this image's ${manifestDigest}`,
    );
  return { statement, payload, signatureBase64: bundle.dsseEnvelope.signatures[0]?.sig ?? "" };
}

function signingKeys(bundle: SigstoreBundle, verifier: BundleVerifier): readonly KeyObject[] {
  const rawCertificate = bundle.verificationMaterial.certificate?.rawBytes;
  if (verifier.kind === "keys") {
    if (rawCertificate !== undefined)
      throw new SigstoreBundleError(
        "certificate",
        "the bundle is signed with a certificate, and a public key was given",
      );
    return verifier.keys;
  }
  if (rawCertificate === undefined || !isBase64(rawCertificate))
    throw new SigstoreBundleError(
      "certificate",
      "the bundle carries no certificate, and certificate roots were given",
    );
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(Buffer.from(fromBase64(rawCertificate)));
  } catch {
    throw new SigstoreBundleError("certificate", "the bundle's certificate is not an X.509 certificate");
  }
  try {
    const key = verifiedCertificateKey(leaf, verifier.trust, verifier.policy);
    checkCertificateValidAt(leaf, verifier.at);
    return [key];
  } catch (err) {
    throw new SigstoreBundleError("certificate", (err as Error).message);
  }
}

export interface InTotoStatement {
  _type: string;
  subject: { name?: string; digest?: Record<string, string> }[];
  predicateType: string;
}

function parseStatement(payload: Uint8Array): InTotoStatement {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString("utf8"));
  } catch {
    throw new SigstoreBundleError("not-a-payload", "the DSSE payload is not JSON");
  }
  const statement = value as Partial<InTotoStatement> | null;
  if (statement?._type !== IN_TOTO_STATEMENT_TYPE)
    throw new SigstoreBundleError(
      "not-a-payload",
      `the DSSE payload is not an in-toto ${IN_TOTO_STATEMENT_TYPE} statement`,
    );
  if (statement.predicateType !== COSIGN_SIGN_PREDICATE_TYPE)
    throw new SigstoreBundleError(
      "not-a-payload",
      `the statement's predicate type is ${JSON.stringify(statement.predicateType)}, not ${COSIGN_SIGN_PREDICATE_TYPE} (an attestation is not a signature)`,
    );
  if (!Array.isArray(statement.subject) || statement.subject.length === 0)
    throw new SigstoreBundleError("not-a-payload", "the statement has no subject");
  return statement as InTotoStatement;
}

/** The empty JSON object OCI 1.1 artifacts use as their config blob; it must be pushed with the manifest. */
export const OCI_EMPTY_CONFIG: Uint8Array = utf8("{}");

/** The OCI 1.1 referrer manifest that carries a bundle for the image `subject`, as cosign pushes it. */
export function bundleReferrerManifest(bundle: Uint8Array, subject: Descriptor, created: Date): Uint8Array {
  const empty = OCI_EMPTY_CONFIG;
  return utf8(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE,
      config: { mediaType: OCI_EMPTY_MEDIA_TYPE, size: empty.length, digest: `sha256:${sha256Hex(empty)}` },
      layers: [
        {
          mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
          size: bundle.byteLength,
          digest: `sha256:${sha256Hex(bundle)}`,
        },
      ],
      subject: { mediaType: subject.mediaType, size: subject.size, digest: subject.digest },
      annotations: {
        [BUNDLE_CONTENT_ANNOTATION]: "dsse-envelope",
        [BUNDLE_PREDICATE_TYPE_ANNOTATION]: COSIGN_SIGN_PREDICATE_TYPE,
        "org.opencontainers.image.created": created.toISOString().replace(/\.\d{3}Z$/, "Z"),
      },
    }),
  );
}
