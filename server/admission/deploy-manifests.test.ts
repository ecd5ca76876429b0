import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { parsePolicy } from "./policy-file.js";

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects, read field by field and checked by the expectations
type Manifest = any;

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

const manifests = (file: string): Manifest[] =>
  parseAllDocuments(readFileSync(join(repoRoot, "deploy", file), "utf8")).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Manifest;
  });

describe("deploy/ manifests", () => {
  it("webhooks: v1 reviews to the admission routes, Fail, no side effects, a timeout above the policy's deadline", () => {
    const [mutating, validating] = manifests("webhooks.yaml");
    const policy = parsePolicy(manifests("policy.yaml")[0].data["policy.yaml"], "/", {
      TRUSTDOCK_ADMISSION_REGISTRY_PASSWORD: "x",
    });
    for (const [config, kind, path] of [
      [mutating, "MutatingWebhookConfiguration", "/admission/mutate"],
      [validating, "ValidatingWebhookConfiguration", "/admission/validate"],
    ] as const) {
      expect(config.kind).toBe(kind);
      const [webhook] = config.webhooks;
      expect(webhook).toMatchObject({
        admissionReviewVersions: ["v1"],
        clientConfig: { service: { namespace: "trustdock", name: "trustdock", path, port: 443 } },
        failurePolicy: "Fail",
        sideEffects: "None",
      });
      expect(webhook.timeoutSeconds * 1000).toBeGreaterThan(policy.deadlineMs);
      const resources = webhook.rules.flatMap((r: { resources: string[] }) => r.resources);
      for (const resource of [
        "pods",
        "pods/ephemeralcontainers",
        "deployments",
        "replicasets",
        "statefulsets",
        "daemonsets",
        "jobs",
        "cronjobs",
      ])
        expect(resources).toContain(resource);
      expect(JSON.stringify(webhook.namespaceSelector)).toContain("trustdock");
    }
  });

  it("the Service reaches the Deployment's HTTPS port, which reads the policy from the ConfigMap", () => {
    const [, deployment, service] = manifests("deployment.yaml");
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    const container = deployment.spec.template.spec.containers[0];
    expect(container.ports[0].name).toBe(service.spec.ports[0].targetPort);
    const env = Object.fromEntries(
      container.env.map((e: { name: string; value?: string }) => [e.name, e.value]),
    );
    expect(env.TRUSTDOCK_ADMISSION_POLICY).toBe("/etc/trustdock/policy.yaml");
    expect(deployment.spec.template.spec.volumes).toContainEqual({
      name: "policy",
      configMap: { name: "trustdock-admission-policy" },
    });
  });
});
