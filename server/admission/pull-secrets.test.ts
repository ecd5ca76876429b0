import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { parseImageReference } from "../../core/admission/image-reference.js";
import { policyFromDocument } from "../../core/admission/policy.js";
import { injectedTrustCall, manifestTarget, TestRepository } from "../../test/support/trust-repository.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../../test/support/trustdock.js";
import { ProjectStore } from "../projects/project-store.js";
import { basicAuth, registryClient } from "../registry/testing/registry-client.js";
import { AdmissionService } from "./admission-service.js";
import { ImageChecker } from "./image-checker.js";
import { KubernetesPullSecrets } from "./pull-secrets.js";
import { AdmissionRegistryClient } from "./registry-client.js";
import { MemoryRootPins } from "./root-pins.js";

const SERVICE_ACCOUNT_TOKEN = "service-account-token";
// A whole Trustdock, a push and a publish: more than jest's 30 s default on a loaded machine.
const STARTUP_TIMEOUT_MS = 90_000;

describe("admission with a workload's imagePullSecrets", () => {
  const auth = basicAuth("admin", ADMIN_PASSWORD);
  let td: TestTrustdock;
  let kubeApi: Server;
  let service: AdmissionService;
  let registries: AdmissionRegistryClient;
  let image: string;
  const secretReads: string[] = [];

  beforeAll(async () => {
    td = await startTestTrustdock();
    await new ProjectStore(td.db).create({ name: "vault", metadata: { public: "false" } });
    const pushed = await registryClient(td.app, auth).pushImage("vault/app", "v1", { content: "private" });
    const gun = `${td.hostPort}/vault/app`;
    await TestRepository.create(injectedTrustCall(td.app, auth, gun), {
      v1: manifestTarget(pushed),
    });
    image = `${gun}:v1`;

    // The Kubernetes API as the webhook's service account sees it: one dockerconfigjson secret in "team".
    const dockerConfig = JSON.stringify({
      auths: { [td.hostPort]: { auth: Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64") } },
    });
    kubeApi = createServer(
      { cert: readFileSync(td.tls.serverCert), key: readFileSync(td.tls.serverKey) },
      (req, res) => {
        secretReads.push(req.url ?? "");
        const authorized = req.headers.authorization === `Bearer ${SERVICE_ACCOUNT_TOKEN}`;
        if (authorized && req.url === "/api/v1/namespaces/team/secrets/regcred") {
          res.setHeader("content-type", "application/json");
          res.end(
            JSON.stringify({
              kind: "Secret",
              apiVersion: "v1",
              metadata: { name: "regcred", namespace: "team" },
              type: "kubernetes.io/dockerconfigjson",
              data: { ".dockerconfigjson": Buffer.from(dockerConfig).toString("base64") },
            }),
          );
          return;
        }
        res.statusCode = authorized ? 404 : 401;
        res.end(JSON.stringify({ kind: "Status", status: "Failure" }));
      },
    );
    await new Promise<void>((resolve) => kubeApi.listen(0, "127.0.0.1", resolve));
    const ca = readFileSync(td.tls.caCert, "utf8");
    const policy = policyFromDocument({
      apiVersion: "trustdock.dev/v1",
      kind: "AdmissionPolicy",
      registries: { [td.hostPort]: { ca } },
      rules: [{ images: [`${td.hostPort}/**`], verify: { notary: {} } }],
    });
    registries = new AdmissionRegistryClient((host) => policy.registries[host] ?? {});
    service = new AdmissionService({
      policy: () => policy,
      checker: new ImageChecker(registries, new MemoryRootPins()),
      pullSecrets: new KubernetesPullSecrets({
        url: `https://127.0.0.1:${(kubeApi.address() as { port: number }).port}`,
        token: SERVICE_ACCOUNT_TOKEN,
        ca,
      }),
    });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    registries?.close();
    if (kubeApi) await new Promise((resolve) => kubeApi.close(resolve));
    await td?.close();
  });

  const container = () => [
    { image, container: "app", list: "containers" as const, pointer: "/spec/containers/0/image" },
  ];

  it("pulls a private image's manifest and trust data with the credentials of the workload's pull secret", async () => {
    const [verdict] = await service.check(container(), "team", ["missing", "regcred"]);
    expect(verdict).toMatchObject({ decision: "admit", pinned: expect.stringMatching(/@sha256:/) });
    expect(secretReads).toEqual([
      "/api/v1/namespaces/team/secrets/missing",
      "/api/v1/namespaces/team/secrets/regcred",
    ]);
    expect(parseImageReference(verdict?.pinned ?? "").digest).toBe(verdict?.digest);
  });

  it("asks anonymously, and is refused, without a pull secret or with one the namespace does not hold", async () => {
    for (const [namespace, secrets] of [
      ["team", []],
      ["elsewhere", ["regcred"]],
    ] as const) {
      const [verdict] = await service.check(container(), namespace, secrets);
      expect(verdict?.decision).toBe("deny");
      expect(verdict?.reasons.join()).toMatch(new RegExp(`the registry ${td.hostPort} answered 40[13]`));
    }
  });
});
