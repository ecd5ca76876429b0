import type { KeyObject } from "node:crypto";
import { bundleFromJSON } from "@sigstore/bundle";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { publicKeyHint } from "../../core/cosign/sigstore-bundle.js";

/**
 * Checks a Sigstore bundle with @sigstore/verify, an implementation independent of ours, given only the
 * public key: no transparency log, no timestamp authority. Throws when it does not verify.
 */
export function sigstoreVerify(bundleBytes: Uint8Array, publicKey: KeyObject): void {
  const trust = toTrustMaterial(
    {
      mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
      certificateAuthorities: [],
      timestampAuthorities: [],
      tlogs: [],
      ctlogs: [],
    },
    (hint: string) => {
      if (hint !== publicKeyHint(publicKey)) throw new Error(`no key for hint ${hint}`);
      return { publicKey, validFor: () => true };
    },
  );
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(Buffer.from(bundleBytes).toString("utf8")))));
}
