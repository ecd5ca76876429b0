import { parseImageReference } from "../../core/admission/image-reference.js";
import { referenceName, repositoryName } from "./image-names.js";

describe("image names as cosign writes and prints them", () => {
  test("a registry's repository keeps its host; Docker Hub's is index.docker.io with library/", () => {
    expect(repositoryName(parseImageReference("127.0.0.1:5000/library/app:v1"))).toBe(
      "127.0.0.1:5000/library/app",
    );
    expect(repositoryName(parseImageReference("nginx"))).toBe("index.docker.io/library/nginx");
    expect(repositoryName(parseImageReference("docker.io/me/app"))).toBe("index.docker.io/me/app");
  });

  test("printed by digest when given one, else by tag, latest by default", () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    expect(referenceName(parseImageReference(`registry.example/app@${digest}`))).toBe(
      `registry.example/app@${digest}`,
    );
    expect(referenceName(parseImageReference("registry.example/app:v2"))).toBe("registry.example/app:v2");
    expect(referenceName(parseImageReference("registry.example/app"))).toBe("registry.example/app:latest");
  });
});
