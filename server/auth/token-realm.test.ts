import type { FastifyRequest } from "fastify";
import { tokenRealm } from "./token-realm.js";

const request = (headers: Record<string, string | string[]>) => ({ headers }) as unknown as FastifyRequest;
const forwarded = {
  host: "127.0.0.1:5000",
  "x-forwarded-proto": "https",
  "x-forwarded-host": "registry.example.com",
};

describe("the token realm", () => {
  it("serving HTTPS: https and the Host header, whatever forwarded headers a client sends", () => {
    expect(tokenRealm(request(forwarded), false)).toBe("https://127.0.0.1:5000/service/token");
  });

  it("behind a TLS proxy: the scheme and host the proxy forwarded", () => {
    expect(tokenRealm(request(forwarded), true)).toBe("https://registry.example.com/service/token");
    expect(tokenRealm(request({ ...forwarded, "x-forwarded-host": "registry.example.com:8443" }), true)).toBe(
      "https://registry.example.com:8443/service/token",
    );
  });

  it("behind a TLS proxy without forwarded headers: http and the Host header", () => {
    expect(tokenRealm(request({ host: "127.0.0.1:5000" }), true)).toBe("http://127.0.0.1:5000/service/token");
  });

  it("behind a chain of proxies: the first value, the one the client's side set", () => {
    const chain = {
      host: "core:8080",
      "x-forwarded-proto": "https, http",
      "x-forwarded-host": "reg.example, core",
    };
    expect(tokenRealm(request(chain), true)).toBe("https://reg.example/service/token");
  });

  it("ignores forwarded values that are no scheme or host, rather than put them in the challenge", () => {
    const bad = {
      host: "127.0.0.1:5000",
      "x-forwarded-proto": "javascript",
      "x-forwarded-host": 'evil",x="y',
    };
    expect(tokenRealm(request(bad), true)).toBe("http://127.0.0.1:5000/service/token");
  });
});
