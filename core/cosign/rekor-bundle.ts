/**
 * The Rekor bundle cosign attaches to a signature (`dev.sigstore.cosign/bundle`), checked offline: the
 * signed entry timestamp (SET) over the canonical JSON of the entry's payload must verify with the given
 * Rekor public key, and the logged hashedrekord entry must be this very signature over this very payload
 * by this very key.
 */
import { createHash, type KeyObject, verify } from "node:crypto";
import { canonicalJsonBytes } from "../canonical-json.js";
import { sha256Hex } from "../digest.js";
import { fromBase64, isBase64 } from "../encoding.js";
import { decodePemBlocks } from "./pem.js";

export interface RekorPayload {
  body: string;
  integratedTime: number;
  logIndex: number;
  logID: string;
}

export interface RekorBundle {
  SignedEntryTimestamp: string;
  Payload: RekorPayload;
}

export class RekorBundleError extends Error {
  override readonly name = "RekorBundleError";
}

export function parseRekorBundle(text: string): RekorBundle {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RekorBundleError("the Rekor bundle is not JSON");
  }
  const bundle = value as Partial<RekorBundle> | null;
  const payload = bundle?.Payload;
  if (typeof bundle?.SignedEntryTimestamp !== "string" || !isBase64(bundle.SignedEntryTimestamp))
    throw new RekorBundleError("the Rekor bundle has no base64 SignedEntryTimestamp");
  if (
    typeof payload !== "object" ||
    payload === null ||
    typeof payload.body !== "string" ||
    !Number.isSafeInteger(payload.integratedTime) ||
    !Number.isSafeInteger(payload.logIndex) ||
    typeof payload.logID !== "string"
  )
    throw new RekorBundleError("the Rekor bundle's Payload is not {body, integratedTime, logIndex, logID}");
  return bundle as RekorBundle;
}

/** The log ID Rekor gives itself: the SHA-256 of its public key's PKIX DER. */
export function rekorLogId(rekorPublicKey: KeyObject): string {
  return createHash("sha256")
    .update(rekorPublicKey.export({ format: "der", type: "spki" }))
    .digest("hex");
}

/**
 * The SET is Rekor's signature over the RFC 8785 canonical JSON of the payload. Its fields are integers
 * and ASCII strings (base64, hex), where RFC 8785 and the canonical JSON in core/ write the same bytes.
 */
export function verifySignedEntryTimestamp(
  bundle: RekorBundle,
  rekorPublicKeys: readonly KeyObject[],
): KeyObject {
  const { body, integratedTime, logIndex, logID } = bundle.Payload;
  const canonical = canonicalJsonBytes({ body, integratedTime, logIndex, logID });
  const set = fromBase64(bundle.SignedEntryTimestamp);
  for (const key of rekorPublicKeys) {
    if (rekorLogId(key) !== logID) continue;
    let ok = false;
    try {
      ok = verify("sha256", canonical, { key, dsaEncoding: "der" }, set);
    } catch {
      ok = false;
    }
    if (ok) return key;
    throw new RekorBundleError(`the Rekor bundle's signed entry timestamp does not verify with log ${logID}`);
  }
  throw new RekorBundleError(`the Rekor bundle comes from log ${logID}, not one of the given Rekor keys`);
}

/** What the logged entry says was signed. */
export interface LoggedSignature {
  payloadSha256: string;
  signatureBase64: string;
  /** The PEM of the public key or certificate logged with the signature. */
  verifierPem: string;
}

export function loggedSignature(bundle: RekorBundle): LoggedSignature {
  if (!isBase64(bundle.Payload.body)) throw new RekorBundleError("the Rekor entry body is not base64");
  let entry: unknown;
  try {
    entry = JSON.parse(Buffer.from(fromBase64(bundle.Payload.body)).toString("utf8"));
  } catch {
    throw new RekorBundleError("the Rekor entry body is not JSON");
  }
  const e = entry as {
    kind?: unknown;
    spec?: {
      data?: { hash?: { algorithm?: unknown; value?: unknown } };
      signature?: { content?: unknown; publicKey?: { content?: unknown } };
    };
  };
  if (e?.kind !== "hashedrekord")
    throw new RekorBundleError(`the Rekor entry is a ${JSON.stringify(e?.kind)}, not a hashedrekord`);
  const hash = e.spec?.data?.hash;
  const signature = e.spec?.signature;
  if (hash?.algorithm !== "sha256" || typeof hash.value !== "string")
    throw new RekorBundleError("the Rekor entry has no sha256 hash of the payload");
  if (typeof signature?.content !== "string" || typeof signature.publicKey?.content !== "string")
    throw new RekorBundleError("the Rekor entry has no signature and public key");
  if (!isBase64(signature.publicKey.content))
    throw new RekorBundleError("the Rekor entry's public key is not base64");
  return {
    payloadSha256: hash.value,
    signatureBase64: signature.content,
    verifierPem: Buffer.from(fromBase64(signature.publicKey.content)).toString("utf8"),
  };
}

/**
 * Checks the whole bundle for one signature; `verifierDer` is the signer's PKIX public key DER or its
 * certificate's DER, whichever the signature was verified with. Returns the time Rekor logged it.
 */
export function verifyRekorBundle(
  bundle: RekorBundle,
  rekorPublicKeys: readonly KeyObject[],
  signed: { payload: Uint8Array; signatureBase64: string; verifierDer: Uint8Array },
): Date {
  verifySignedEntryTimestamp(bundle, rekorPublicKeys);
  const logged = loggedSignature(bundle);
  if (logged.payloadSha256 !== sha256Hex(signed.payload))
    throw new RekorBundleError("the Rekor entry logs another payload's hash");
  if (logged.signatureBase64 !== signed.signatureBase64)
    throw new RekorBundleError("the Rekor entry logs another signature");
  const loggedDer = decodePemBlocks(logged.verifierPem)[0]?.bytes;
  if (!loggedDer || Buffer.compare(Buffer.from(loggedDer), Buffer.from(signed.verifierDer)) !== 0)
    throw new RekorBundleError("the Rekor entry logs another public key");
  return new Date(bundle.Payload.integratedTime * 1000);
}
