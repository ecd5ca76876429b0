import { readdirSync, readFileSync } from "node:fs";
import { fixturePath } from "./shared.js";

/** One of the real cosign signatures in ../shared/fixtures/cosign (see its README.md). */
export interface CosignFixture {
  name: string;
  manifest: Uint8Array;
  manifestDigest: string;
  signatures: { mediaType: string; payload: Uint8Array; annotations: Record<string, string> }[];
  verifyWith: string;
  expect: "valid" | "invalid";
  why: string;
}

export function cosignFixturePath(file: string): string {
  return fixturePath("cosign", file);
}

export function cosignFixtureText(file: string): string {
  return readFileSync(cosignFixturePath(file), "utf8");
}

export function cosignFixtures(): CosignFixture[] {
  return readdirSync(fixturePath("cosign"))
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => {
      const raw = JSON.parse(cosignFixtureText(file)) as {
        name: string;
        manifest_base64: string;
        manifest_digest: string;
        signatures: { mediaType: string; payload: string; annotations: Record<string, string> }[];
        verify_with: string;
        expect: "valid" | "invalid";
        why: string;
      };
      return {
        name: raw.name,
        manifest: new Uint8Array(Buffer.from(raw.manifest_base64, "base64")),
        manifestDigest: raw.manifest_digest,
        signatures: raw.signatures.map((s) => ({
          mediaType: s.mediaType,
          payload: new Uint8Array(Buffer.from(s.payload, "base64")),
          annotations: s.annotations,
        })),
        verifyWith: raw.verify_with,
        expect: raw.expect,
        why: raw.why,
      };
    });
}
