import { generateKeyPairSync } from "node:crypto";
import { toBase64 } from "../encoding.js";
import { appendSignatureLayer } from "./append-signature.js";
import { signPayload } from "./signature.js";
import { SIGNATURE_ANNOTATION } from "./signature-manifest.js";
import { buildSimpleSigningPayload } from "./simple-signing.js";

describe("appending a signature to a .sig manifest", () => {
  const alice = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const bob = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const payload = buildSimpleSigningPayload({
    dockerReference: "r/app",
    manifestDigest: `sha256:${"aa".repeat(32)}`,
    optional: null,
  });
  const layerBy = (key: typeof alice) => ({
    payload,
    annotations: { [SIGNATURE_ANNOTATION]: toBase64(signPayload(key.privateKey, payload)) },
  });

  test("a new signer's signature goes after the existing ones", () => {
    const first = appendSignatureLayer([], layerBy(alice), alice.privateKey);
    expect(first.appended).toBe(true);
    const second = appendSignatureLayer(first.layers, layerBy(bob), bob.privateKey);
    expect(second.appended).toBe(true);
    expect(second.layers).toHaveLength(2);
    expect(second.layers[0]).toEqual(first.layers[0]);
  });

  test("the same signer signing the same payload again changes nothing, though ECDSA signatures differ", () => {
    const first = appendSignatureLayer([], layerBy(alice), alice.privateKey);
    const again = appendSignatureLayer(first.layers, layerBy(alice), alice.publicKey);
    expect(again).toEqual({ layers: first.layers, appended: false });
  });
});
