import { parseChallenge } from "./www-authenticate.js";

describe("reading a registry's WWW-Authenticate challenge", () => {
  it("reads a Bearer challenge's realm, service and scope", () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull"',
      ),
    ).toEqual({
      scheme: "bearer",
      params: {
        realm: "https://auth.docker.io/token",
        service: "registry.docker.io",
        scope: "repository:a/b:pull",
      },
    });
  });

  it("reads a Basic challenge", () => {
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: "basic",
      params: { realm: "Registry Realm" },
    });
  });

  it("compares schemes and parameter names case-insensitively and unescapes quoted values", () => {
    expect(parseChallenge('BEARER Realm="https://x/token",Service=reg, error="say \\"no\\""')).toEqual({
      scheme: "bearer",
      params: { realm: "https://x/token", service: "reg", error: 'say "no"' },
    });
  });

  it("has nothing to read when there is no header", () => {
    expect(parseChallenge(undefined)).toBeUndefined();
    expect(parseChallenge("")).toBeUndefined();
  });
});
