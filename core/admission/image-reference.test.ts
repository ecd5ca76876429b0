import {
  describe as describeRef,
  fullName,
  InvalidImageReferenceError,
  parseImageReference,
  pinnedReference,
  registryApiHost,
  trustServerHost,
} from "./image-reference.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("image references", () => {
  it.each([
    ["nginx", "docker.io", "library/nginx", "latest", undefined],
    ["nginx:1.27", "docker.io", "library/nginx", "1.27", undefined],
    ["bitnami/redis:7", "docker.io", "bitnami/redis", "7", undefined],
    ["docker.io/nginx", "docker.io", "library/nginx", "latest", undefined],
    ["ghcr.io/org/team/app:v2", "ghcr.io", "org/team/app", "v2", undefined],
    ["localhost/app", "localhost", "app", "latest", undefined],
    ["127.0.0.1:5000/library/app:v1", "127.0.0.1:5000", "library/app", "v1", undefined],
    [`registry.example.com/app@${DIGEST}`, "registry.example.com", "app", undefined, DIGEST],
    [`app:v1@${DIGEST}`, "docker.io", "library/app", "v1", DIGEST],
  ])("reads %s as docker does", (text, registry, repository, tag, digest) => {
    expect(parseImageReference(text)).toMatchObject({ registry, repository, tag, digest });
  });

  it("pins a reference by the name as written, so nothing but the tag changes", () => {
    expect(pinnedReference(parseImageReference("nginx:1.27"), DIGEST)).toBe(`nginx@${DIGEST}`);
    expect(pinnedReference(parseImageReference("127.0.0.1:5000/library/app:v1"), DIGEST)).toBe(
      `127.0.0.1:5000/library/app@${DIGEST}`,
    );
    expect(fullName(parseImageReference("nginx"))).toBe("docker.io/library/nginx");
    expect(describeRef(parseImageReference(`app:v1@${DIGEST}`))).toBe(`docker.io/library/app:v1@${DIGEST}`);
  });

  it("asks Docker Hub's API and Notary hosts for docker.io images, the registry itself otherwise", () => {
    expect(registryApiHost("docker.io")).toBe("registry-1.docker.io");
    expect(trustServerHost("docker.io")).toBe("notary.docker.io");
    expect(trustServerHost("127.0.0.1:5000")).toBe("127.0.0.1:5000");
  });

  it.each([
    "",
    "Nginx",
    "nginx:",
    "app@sha256:short",
    "a//b",
    "app:tag with space",
    `app@md5:${"a".repeat(32)}`,
  ])("refuses %j", (text) => {
    expect(() => parseImageReference(text)).toThrow(InvalidImageReferenceError);
  });
});
