import { credentialsFor } from "./docker-config.js";

const config = (auths: Record<string, unknown>) => JSON.stringify({ auths });
const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("pull secret credentials", () => {
  it("reads auth or username/password for the registry, Docker Hub under its legacy key", () => {
    const json = config({
      "https://index.docker.io/v1/": { auth: b64("hub-user:hub:pass") },
      "registry.example.com:5000": { username: "u", password: "p" },
      "https://ghcr.io": { auth: b64("g:h") },
    });
    expect(credentialsFor(json, "docker.io")).toEqual({ username: "hub-user", password: "hub:pass" });
    expect(credentialsFor(json, "registry.example.com:5000")).toEqual({ username: "u", password: "p" });
    expect(credentialsFor(json, "ghcr.io")).toEqual({ username: "g", password: "h" });
    expect(credentialsFor(json, "quay.io")).toBeUndefined();
  });

  it("finds nothing in what is not a docker config", () => {
    expect(credentialsFor("not json", "docker.io")).toBeUndefined();
    expect(credentialsFor("null", "docker.io")).toBeUndefined();
    expect(credentialsFor(config({ "docker.io": { auth: b64("no-colon") } }), "docker.io")).toBeUndefined();
  });
});
