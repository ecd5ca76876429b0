import { InvalidTokenError } from "./errors.js";
import { decodeJwt, encodeJwt } from "./jwt.js";

const fakeSign = (input: Buffer) => Buffer.from(`sig:${input.length}`);

describe("jwt", () => {
  it("round-trips header and payload as base64url JSON, signing exactly header.payload", () => {
    const token = encodeJwt({ alg: "ES256", kid: "k" }, { sub: "admin", access: [] }, fakeSign);
    const [header, payload, signature] = token.split(".");
    expect(Buffer.from(header ?? "", "base64url").toString()).toBe('{"alg":"ES256","kid":"k"}');
    expect(token).not.toMatch(/[=+/]/);

    const decoded = decodeJwt(token);
    expect(decoded.header).toEqual({ alg: "ES256", kid: "k" });
    expect(decoded.payload).toEqual({ sub: "admin", access: [] });
    expect(decoded.signingInput.toString()).toBe(`${header}.${payload}`);
    expect(decoded.signature).toEqual(Buffer.from(signature ?? "", "base64url"));
  });

  it.each([
    ["two parts", "a.b"],
    ["four parts", "a.b.c.d"],
    ["characters outside base64url", "e30=.e30.sig"],
    ["a payload that is not JSON", `e30.${Buffer.from("nope").toString("base64url")}.sig`],
    ["a payload that is an array", `e30.${Buffer.from("[]").toString("base64url")}.sig`],
    ["a header that is null", `${Buffer.from("null").toString("base64url")}.e30.sig`],
  ])("rejects a token with %s", (_what, token) => {
    expect(() => decodeJwt(token)).toThrow(InvalidTokenError);
  });
});
