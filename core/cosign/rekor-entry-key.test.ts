import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { rekorEntrySignerKey } from "./rekor-entry-key.js";

const fixtures = join(process.cwd(), "..", "shared", "fixtures", "cosign");

describe("the signer key a Rekor bundle names", () => {
  it("is the key cosign logged for a real signature", () => {
    const fixture = JSON.parse(readFileSync(join(fixtures, "cosign-key-rekor-valid.json"), "utf8"));
    const bundle = fixture.signatures[0].annotations["dev.sigstore.cosign/bundle"];
    const logged = rekorEntrySignerKey(bundle);
    expect(logged?.equals(createPublicKey(readFileSync(join(fixtures, "cosign2.pub"), "utf8")))).toBe(true);
    expect(logged?.equals(createPublicKey(readFileSync(join(fixtures, "cosign.pub"), "utf8")))).toBe(false);
  });

  it("is nothing for a bundle that is not one or names no key", () => {
    expect(rekorEntrySignerKey("not json")).toBeUndefined();
    const body = Buffer.from(JSON.stringify({ spec: { signature: {} } })).toString("base64");
    const bundle = JSON.stringify({
      SignedEntryTimestamp: "AAAA",
      Payload: { body, integratedTime: 1, logIndex: 1, logID: "x" },
    });
    expect(rekorEntrySignerKey(bundle)).toBeUndefined();
  });
});
