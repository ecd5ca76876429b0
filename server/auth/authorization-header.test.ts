import { parseAuthorization } from "./authorization-header.js";

const basic = (value: string) => `Basic ${Buffer.from(value).toString("base64")}`;

describe("parseAuthorization", () => {
  it("reads Basic credentials, keeping colons in the password", () => {
    expect(parseAuthorization(basic("admin:pa:ss"))).toEqual({
      scheme: "basic",
      username: "admin",
      password: "pa:ss",
    });
    expect(parseAuthorization(basic("admin:"))).toEqual({ scheme: "basic", username: "admin", password: "" });
  });

  it("reads a bearer token whatever the scheme's case", () => {
    expect(parseAuthorization("bearer abc.def.ghi")).toEqual({ scheme: "bearer", token: "abc.def.ghi" });
  });

  it("tells no header from one it cannot read", () => {
    expect(parseAuthorization(undefined)).toEqual({ scheme: "none" });
    expect(parseAuthorization("")).toEqual({ scheme: "none" });
    expect(parseAuthorization(basic("no-colon"))).toEqual({ scheme: "malformed" });
    expect(parseAuthorization("Basic !!!")).toEqual({ scheme: "malformed" });
    expect(parseAuthorization("Digest a b")).toEqual({ scheme: "malformed" });
    expect(parseAuthorization("Negotiate abc")).toEqual({ scheme: "malformed" });
  });
});
