import { describeOnEachDatabase } from "../../test/support/databases.js";
import { waitFor } from "../../test/support/processes.js";
import { injectedTrustCall, manifestTarget, TestRepository } from "../../test/support/trust-repository.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";
import { ProjectStore } from "../projects/project-store.js";
import { basicAuth, type RegistryClient, registryClient } from "../registry/testing/registry-client.js";
import { NOT_SIGNED_IN_NOTARY } from "./pull-policy.js";

describeOnEachDatabase("content trust on pull", (databases) => {
  const suite = trustdockForSuite(databases);
  let td: TestTrustdock;
  let registry: RegistryClient;
  let projects: ProjectStore;
  let projectId: number;
  const auth = basicAuth("admin", ADMIN_PASSWORD);

  beforeAll(async () => {
    td = suite.td;
    registry = registryClient(td.app, auth);
    projects = new ProjectStore(td.db);
    const created = await projects.create({ name: "guarded", metadata: { public: "false" } });
    projectId = created.id;
  });

  const enforce = (notary: boolean, cosign: boolean) =>
    projects.setMetadata(projectId, {
      enable_content_trust: String(notary),
      enable_content_trust_cosign: String(cosign),
    });
  const trustCall = (gun: string) => injectedTrustCall(td.app, auth, gun);
  const pull = (repository: string, reference: string) =>
    registry.call("GET", `/v2/${repository}/manifests/${reference}`, {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
  const eventually = (what: string, probe: () => Promise<boolean>) =>
    waitFor(what, async () => ((await probe()) ? true : undefined), 5000);

  it("refuses an image the project's Notary trust data does not sign, and serves it once signed", async () => {
    const repository = "guarded/notary-app";
    const image = await registry.pushImage(repository, "v1", { content: "notary" });
    await enforce(true, false);

    const refused = await pull(repository, "v1");
    expect(refused.status).toBe(412);
    expect(refused.json().errors[0]).toMatchObject({
      code: "PROJECT_POLICY_VIOLATION",
      message: NOT_SIGNED_IN_NOTARY,
    });
    expect((await pull(repository, image.digest)).status).toBe(412);

    const target = manifestTarget(image);
    await TestRepository.create(trustCall(`${td.hostPort}/${repository}`), { v1: target });
    await eventually("the signed pull", async () => (await pull(repository, "v1")).status === 200);
    expect((await pull(repository, image.digest)).body.equals(image.bytes)).toBe(true);

    const unsigned = await registry.pushImage(repository, "v2", { content: "not signed" });
    expect((await pull(repository, unsigned.digest)).status).toBe(412);
    await enforce(false, false);
    await eventually("enforcement off", async () => (await pull(repository, "v2")).status === 200);
  });
});
