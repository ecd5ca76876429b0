import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { basicAuth, registryClient } from "../../server/registry/testing/registry-client.js";
import { trustdock } from "../../test/support/cli.js";
import { injectedTrustCall, manifestTarget, TestRepository } from "../../test/support/trust-repository.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../../test/support/trustdock.js";
import { admissionCheck } from "./admission.js";

describe("trustdock admission check", () => {
  const auth = basicAuth("admin", ADMIN_PASSWORD);
  let td: TestTrustdock;
  let dir: string;
  let policy: string;
  let signed: string;
  let signedDigest: string;
  let unsigned: string;

  const trustCall = (gun: string) => injectedTrustCall(td.app, auth, gun);

  beforeAll(async () => {
    td = await startTestTrustdock();
    dir = mkdtempSync(join(tmpdir(), "trustdock-admission-cli-"));
    const registry = registryClient(td.app, auth);
    const image = await registry.pushImage("library/cli-signed", "1.0", { content: "cli signed" });
    await registry.pushImage("library/cli-unsigned", "1.0", { content: "cli unsigned" });
    await TestRepository.create(trustCall(`${td.hostPort}/library/cli-signed`), {
      "1.0": manifestTarget(image),
    });
    signed = `${td.hostPort}/library/cli-signed:1.0`;
    signedDigest = image.digest;
    unsigned = `${td.hostPort}/library/cli-unsigned:1.0`;
    policy = join(dir, "policy.yaml");
    writeFileSync(
      policy,
      stringify({
        apiVersion: "trustdock.dev/v1",
        kind: "AdmissionPolicy",
        registries: { [td.hostPort]: { username: "admin", password: ADMIN_PASSWORD, caFile: td.tls.caCert } },
        rules: [{ name: "signed", images: [`${td.hostPort}/**`], verify: { notary: {} } }],
      }),
    );
  }, 90_000); // a whole Trustdock, pushes and a publish: past the 30 s default on a loaded machine
  afterAll(() => td?.close());

  const manifests = (images: { web: string; init: string }) =>
    [
      stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace: "shop" },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              initContainers: [{ name: "migrate", image: images.init }],
              containers: [{ name: "web", image: images.web }],
            },
          },
        },
      }),
      stringify({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web" },
        spec: { ports: [{ port: 80 }] },
      }),
    ].join("---\n");

  it("prints each image's verdict and admits a file whose images are all signed", async () => {
    const file = join(dir, "signed.yaml");
    writeFileSync(file, manifests({ web: signed, init: signed }));
    const lines: string[] = [];
    expect(await admissionCheck({ file, policy, namespace: "default", out: (l) => lines.push(l) })).toBe(
      true,
    );
    expect(lines).toEqual([
      `ADMIT ${signed}  (shop/Deployment/web containers[web])  ${td.hostPort}/library/cli-signed@${signedDigest}`,
      `ADMIT ${signed}  (shop/Deployment/web initContainers[migrate])  ${td.hostPort}/library/cli-signed@${signedDigest}`,
      "2 images admitted in 1 workloads",
    ]);
  });

  it("exits non-zero naming the unsigned image, as the built command", async () => {
    const file = join(dir, "unsigned.yaml");
    writeFileSync(file, manifests({ web: signed, init: unsigned }));
    const res = await trustdock(["admission", "check", "-f", file, "--policy", policy]);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(`ADMIT ${signed}`);
    expect(res.stdout).toContain(
      `DENY  ${unsigned}  (shop/Deployment/web initContainers[migrate])  not signed: ${td.hostPort} has no Notary trust data`,
    );
    expect(res.stdout).toContain("1 of 2 images refused");
  });

  it("refuses a policy file that does not match the schema, saying where", async () => {
    const bad = join(dir, "bad-policy.yaml");
    writeFileSync(
      bad,
      "apiVersion: trustdock.dev/v1\nkind: AdmissionPolicy\nrules:\n  - images: []\n    verify: {}\n",
    );
    const file = join(dir, "any.yaml");
    writeFileSync(file, manifests({ web: signed, init: signed }));
    await expect(admissionCheck({ file, policy: bad, namespace: "default", out: () => {} })).rejects.toThrow(
      /bad-policy\.yaml: does not match the admission policy schema: \/rules\/0\/images must NOT have fewer than 1 items/,
    );
  });
});
