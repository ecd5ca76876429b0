import { globMatches } from "./glob.js";
import { type AdmissionPolicy, DEFAULT_POLICY, isExempt, policyFromDocument, ruleFor } from "./policy.js";

describe("policy patterns", () => {
  it.each([
    ["docker.io/library/*", "docker.io/library/nginx", true],
    ["docker.io/library/*", "docker.io/library/team/nginx", false],
    ["docker.io/**", "docker.io/library/team/nginx", true],
    ["127.0.0.1:5000/library/app-?", "127.0.0.1:5000/library/app-1", true],
    ["registry.example.com/app", "registryxexample.com/app", false],
    ["prod-*", "prod-eu", true],
    ["prod-*", "staging", false],
  ])("%s against %s is %s", (pattern, value, expected) => {
    expect(globMatches(pattern, value)).toBe(expected);
  });
});

describe("policy rules", () => {
  const policy: AdmissionPolicy = policyFromDocument({
    apiVersion: "trustdock.dev/v1",
    kind: "AdmissionPolicy",
    exemptNamespaces: ["kube-*"],
    rules: [
      {
        name: "audit only in dev",
        images: ["**"],
        namespaces: ["dev-*"],
        verify: { notary: {} },
        action: "warn",
      },
      {
        name: "ours",
        images: ["registry.example.com/**"],
        verify: { notary: { rootKeys: ["a".repeat(64)] } },
      },
      { images: ["docker.io/library/*"], verify: { cosign: { keys: ["-----BEGIN PUBLIC KEY-----"] } } },
    ],
  });

  it("takes the first rule, in file order, that matches image and namespace", () => {
    expect(ruleFor(policy, "registry.example.com/app", "dev-alice")?.name).toBe("audit only in dev");
    expect(ruleFor(policy, "registry.example.com/app", "prod")).toMatchObject({
      name: "ours",
      action: "deny",
      notary: { rootKeys: ["a".repeat(64)] },
    });
    expect(ruleFor(policy, "docker.io/library/nginx", "prod")).toMatchObject({ name: "rule 3", cosign: {} });
    expect(ruleFor(policy, "ghcr.io/x/y", "prod")).toBeUndefined();
  });

  it("exempts namespaces by pattern, and has defaults for what the file leaves out", () => {
    expect(isExempt(policy, "kube-system")).toBe(true);
    expect(isExempt(policy, "default")).toBe(false);
    expect(policy).toMatchObject({ unmatched: "deny", deadlineMs: 8000, cacheTtlMs: 30_000 });
    expect(ruleFor(DEFAULT_POLICY, "docker.io/library/nginx", "default")?.notary).toEqual({ rootKeys: [] });
  });
});
