import { cosignFixtures } from "../../test/support/cosign-fixtures.js";
import { utf8 } from "../encoding.js";
import { buildSimpleSigningPayload, PayloadError, parseSimpleSigningPayload } from "./simple-signing.js";

const digest = `sha256:${"0".repeat(64)}`;
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

describe("simple-signing payloads", () => {
  test("every payload cosign signed in the fixtures is rebuilt byte for byte from what it parses to", () => {
    const payloads = cosignFixtures()
      .flatMap((f) => f.signatures)
      .filter((s) => s.mediaType === "application/vnd.dev.cosign.simplesigning.v1+json")
      .map((s) => s.payload);
    expect(payloads.length).toBeGreaterThan(0);
    for (const payload of payloads)
      expect(text(buildSimpleSigningPayload(parseSimpleSigningPayload(payload)))).toBe(text(payload));
  });

  test("optional annotations are written as Go writes a map: sorted keys, HTML characters escaped", () => {
    const built = buildSimpleSigningPayload({
      dockerReference: "127.0.0.1:5000/library/app",
      manifestDigest: digest,
      optional: { z: "1", a: "<b>&" },
    });
    expect(text(built)).toBe(
      `{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/library/app"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":{"a":"\\u003cb\\u003e\\u0026","z":"1"}}`,
    );
    expect(parseSimpleSigningPayload(built).optional).toEqual({ a: "<b>&", z: "1" });
  });

  const valid = JSON.parse(
    text(buildSimpleSigningPayload({ dockerReference: "r", manifestDigest: digest, optional: null })),
  );
  const mutate = (f: (p: typeof valid) => void) => {
    const copy = structuredClone(valid);
    f(copy);
    return utf8(JSON.stringify(copy));
  };

  test.each([
    [
      "another type",
      mutate((p) => {
        p.critical.type = "atomic container signature";
      }),
      'unknown type: "atomic container signature"',
    ],
    [
      "a key with other case",
      mutate((p) => {
        p.critical.Image = p.critical.image;
        delete p.critical.image;
      }),
      'critical has no "image"',
    ],
    [
      "an unknown key in critical",
      mutate((p) => {
        p.critical.extra = 1;
      }),
      'critical has an unexpected key "extra"',
    ],
    [
      "an unknown top-level key",
      mutate((p) => {
        p.extra = 1;
      }),
      'the payload has an unexpected key "extra"',
    ],
    [
      "a digest that is not one",
      mutate((p) => {
        p.critical.image["docker-manifest-digest"] = "sha256:abc";
      }),
      "is not a digest",
    ],
    [
      "a reference that is not a string",
      mutate((p) => {
        p.critical.identity["docker-reference"] = 1;
      }),
      "docker-reference is not a string",
    ],
    [
      "optional as a list",
      mutate((p) => {
        p.optional = [];
      }),
      "optional is neither an object nor null",
    ],
    ["bytes that are not JSON", utf8("this is not a signature"), "not JSON"],
  ])("refuses %s", (_what, bytes, message) => {
    expect(() => parseSimpleSigningPayload(bytes)).toThrow(PayloadError);
    expect(() => parseSimpleSigningPayload(bytes)).toThrow(message);
  });
});
