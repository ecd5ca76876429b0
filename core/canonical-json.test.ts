import { readFileSync } from "node:fs";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { fixturePath } from "../test/support/shared.js";
import { CanonicalJsonError, canonicalJson } from "./canonical-json.js";

describe("canonicalJson", () => {
  it("sorts keys and drops whitespace", () => {
    expect(canonicalJson({ b: 1, a: [true, null, "x"], c: { z: 0, y: "q" } })).toBe(
      '{"a":[true,null,"x"],"b":1,"c":{"y":"q","z":0}}',
    );
  });

  it("escapes only quote, backslash and control characters", () => {
    expect(canonicalJson('a"b\\c\nd\u00e9<')).toBe('"a\\"b\\\\c\\u000ad\u00e9<"');
  });

  it("refuses floats, which have no canonical form", () => {
    expect(() => canonicalJson({ v: 1.5 })).toThrow(CanonicalJsonError);
  });

  it("reproduces the key ID notary-server gave its timestamp key in a real session", () => {
    const key = JSON.parse(readFileSync(fixturePath("notary-0.7-session", "002.res"), "utf8"));
    const keyId = bytesToHex(sha256(new TextEncoder().encode(canonicalJson(key))));
    expect(keyId).toBe("90e2643e7e4dcee492c85942f40b3a96942c5eaa9cee63a652553fa6327133b2");
  });
});
