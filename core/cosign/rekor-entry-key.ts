/**
 * The public key a Rekor bundle's hashedrekord entry names as the signer
 * (`spec.signature.publicKey.content`: a base64 PEM key or certificate). Read without checking the
 * bundle, so it only ever words a refusal ("signed with a key the project does not trust"); whether a
 * signature counts is decided by the trusted keys alone.
 */
import { createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { parseRekorBundle } from "./rekor-bundle.js";

export function rekorEntrySignerKey(bundleText: string): KeyObject | undefined {
  try {
    const body = JSON.parse(
      Buffer.from(parseRekorBundle(bundleText).Payload.body, "base64").toString("utf8"),
    );
    const content = body?.spec?.signature?.publicKey?.content;
    if (typeof content !== "string") return undefined;
    const pem = Buffer.from(content, "base64").toString("utf8");
    return pem.includes("CERTIFICATE") ? new X509Certificate(pem).publicKey : createPublicKey(pem);
  } catch {
    return undefined;
  }
}
