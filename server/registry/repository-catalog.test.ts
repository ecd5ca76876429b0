import { describeOnEachDatabase } from "../../test/support/databases.js";
import { waitFor } from "../../test/support/processes.js";
import { injectedTrustCall, manifestTarget, TestRepository } from "../../test/support/trust-repository.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";
import { OCI_INDEX, OCI_MANIFEST } from "./manifest-format.js";
import { buildHarborAccessWorld, type HarborAccessWorld } from "./testing/harbor-access-world.js";
import {
  basicAuth,
  type PushedManifest,
  type RegistryClient,
  registryClient,
} from "./testing/registry-client.js";

const ADMIN = basicAuth("admin", ADMIN_PASSWORD);
const SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json";

interface RepositoryView {
  id: number;
  project_id: number;
  name: string;
  artifact_count: number;
  pull_count: number;
  creation_time: string;
  update_time: string;
}

interface ArtifactView {
  type: string;
  digest: string;
  media_type: string;
  manifest_media_type: string;
  repository_name: string;
  size: number;
  push_time: string;
  pull_time?: string;
  tags: Array<{ name: string; signed: boolean; immutable: boolean; push_time: string; pull_time?: string }>;
  accessories: Array<{ digest: string; type: string; size: number; subject_artifact_digest: string }>;
}

describeOnEachDatabase("repository catalog through the Harbor API, after real pushes", (databases) => {
  const suite = trustdockForSuite(databases);
  let td: TestTrustdock;
  let registry: RegistryClient;
  let world: HarborAccessWorld;
  let project: string;
  let repository: string;
  let image: PushedManifest;
  let untagged: PushedManifest;
  let index: PushedManifest;
  let entries: PushedManifest[];
  let signature: PushedManifest;
  let bundle: PushedManifest;

  const api = async (method: "GET" | "DELETE", path: string, authorization = ADMIN) =>
    td.app.inject({ method, url: `/api/v2.0${path}`, headers: { authorization } });
  const as = (who: { username: string; password: string }) => basicAuth(who.username, who.password);
  const repositories = async () => {
    const res = await api("GET", `/projects/${project}/repositories`);
    expect(res.statusCode).toBe(200);
    return res.json<RepositoryView[]>();
  };
  const artifacts = async (name = "app") => {
    const res = await api("GET", `/projects/${project}/repositories/${name}/artifacts`);
    expect(res.statusCode).toBe(200);
    return res.json<ArtifactView[]>();
  };
  const trustCall = (gun: string) => injectedTrustCall(td.app, ADMIN, gun);
  /** What Harbor counts as an image's size: the manifest, its config and its layers. */
  const imageSize = (pushed: PushedManifest) => {
    const document = JSON.parse(pushed.bytes.toString()) as {
      config: { size: number };
      layers: { size: number }[];
    };
    return pushed.size + document.config.size + document.layers.reduce((n, l) => n + l.size, 0);
  };

  beforeAll(async () => {
    td = suite.td;
    registry = registryClient(td.app, ADMIN);
    world = await buildHarborAccessWorld(td.app, td.db, ADMIN_PASSWORD);
    project = world.projects.private;
    repository = `${project}/app`;

    image = await registry.pushImage(repository, "v1", { content: "signed image" });
    expect(
      (await registry.pushManifest(repository, "latest", JSON.parse(image.bytes.toString()), OCI_MANIFEST))
        .reply.status,
    ).toBe(201);
    untagged = await registry.pushImage(repository, undefined, { content: "by digest" });
    entries = [
      await registry.pushImage(repository, undefined, { content: "amd64" }),
      await registry.pushImage(repository, undefined, { content: "arm64" }),
    ];
    index = await registry.pushIndex(repository, "multi", entries);
    expect(index.reply.status).toBe(201);

    const config = await registry.pushBlob(repository, "{}", "application/vnd.oci.image.config.v1+json");
    const payload = await registry.pushBlob(
      repository,
      `{"critical":{"image":{"docker-manifest-digest":"${image.digest}"}}}`,
    );
    signature = await registry.pushManifest(
      repository,
      `${image.digest.replace(":", "-")}.sig`,
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config,
        layers: [{ ...payload, mediaType: "application/vnd.dev.cosign.simplesigning.v1+json" }],
      },
      OCI_MANIFEST,
    );
    expect(signature.reply.status).toBe(201);
    const empty = await registry.pushBlob(repository, "{}", "application/vnd.oci.empty.v1+json");
    const bundleLayer = await registry.pushBlob(repository, '{"bundle":true}', SIGSTORE_BUNDLE);
    bundle = await registry.pushManifest(
      repository,
      undefined,
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: SIGSTORE_BUNDLE,
        config: empty,
        layers: [bundleLayer],
        subject: { mediaType: OCI_MANIFEST, digest: image.digest, size: image.size },
      },
      OCI_MANIFEST,
    );
    expect(bundle.reply.status).toBe(201);
  });

  it("lists the project's repositories with their artifact count, accessories and index entries not counted", async () => {
    await registry.pushImage(`${project}/other`, "v1");
    const listed = await repositories();
    expect(listed.map((r) => r.name)).toEqual([repository, `${project}/other`].sort());
    const app = listed.find((r) => r.name === repository);
    expect(app).toMatchObject({ artifact_count: 3, pull_count: 0, id: expect.any(Number) });
    expect(Date.parse(app?.update_time ?? "")).toBeGreaterThanOrEqual(Date.parse(app?.creation_time ?? ""));
    const paged = await api("GET", `/projects/${project}/repositories?page_size=1&page=2`);
    expect(paged.headers["x-total-count"]).toBe("2");
    expect(paged.json<RepositoryView[]>().map((r) => r.name)).toEqual([`${project}/other`]);
  });

  it("lists artifacts newest first, with tags, sizes, media types and accessories as Harbor does", async () => {
    const listed = await artifacts();
    expect(listed.map((a) => a.digest)).toEqual([index.digest, untagged.digest, image.digest]);
    const [multi, byDigest, signed] = listed;
    expect(signed).toMatchObject({
      type: "IMAGE",
      media_type: "application/vnd.oci.image.config.v1+json",
      manifest_media_type: OCI_MANIFEST,
      repository_name: repository,
      size: imageSize(image),
    });
    expect(signed?.tags.map((t) => t.name)).toEqual(["latest", "v1"]);
    expect(signed?.accessories).toEqual([
      expect.objectContaining({
        digest: signature.digest,
        type: "signature.cosign",
        subject_artifact_digest: image.digest,
      }),
      expect.objectContaining({
        digest: bundle.digest,
        type: "signature.cosign",
        subject_artifact_digest: image.digest,
      }),
    ]);
    expect(signed?.accessories[0]?.size).toBe(imageSize(signature));
    expect(byDigest).toMatchObject({ tags: [], accessories: [], size: imageSize(untagged) });
    expect(multi).toMatchObject({
      type: "IMAGE",
      media_type: OCI_INDEX,
      manifest_media_type: OCI_INDEX,
      size: index.size + imageSize(entries[0] as PushedManifest) + imageSize(entries[1] as PushedManifest),
      tags: [expect.objectContaining({ name: "multi", signed: false, immutable: false })],
    });
  });

  it("counts pulls and shows when an artifact and a tag were last pulled", async () => {
    expect((await registry.call("GET", `/v2/${repository}/manifests/v1`)).status).toBe(200);
    expect((await registry.call("GET", `/v2/${repository}/manifests/v1`)).status).toBe(200);
    expect((await registry.call("GET", `/v2/${repository}/manifests/${untagged.digest}`)).status).toBe(200);
    expect((await registry.call("HEAD", `/v2/${repository}/manifests/multi`)).status).toBe(200);
    await waitFor(
      "the pulls to be written",
      async () =>
        (await repositories()).find((r) => r.name === repository)?.pull_count === 3 ? true : undefined,
      10_000,
    );
    const listed = await artifacts();
    const signed = listed.find((a) => a.digest === image.digest);
    expect(signed?.pull_time).toEqual(expect.any(String));
    expect(signed?.tags.find((t) => t.name === "v1")?.pull_time).toEqual(expect.any(String));
    expect(signed?.tags.find((t) => t.name === "latest")?.pull_time).toBeUndefined();
    expect(listed.find((a) => a.digest === untagged.digest)?.pull_time).toEqual(expect.any(String));
    expect(listed.find((a) => a.digest === index.digest)?.pull_time).toBeUndefined();
  });

  it("gets one repository by name and one artifact by tag or digest, accessories too", async () => {
    const one = await api("GET", `/projects/${project}/repositories/app`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual((await repositories()).find((r) => r.name === repository));
    const byTag = await api("GET", `/projects/${project}/repositories/app/artifacts/latest`);
    expect(byTag.statusCode).toBe(200);
    expect(byTag.json()).toEqual((await artifacts()).find((a) => a.digest === image.digest));
    const accessory = await api("GET", `/projects/${project}/repositories/app/artifacts/${signature.digest}`);
    expect(accessory.json()).toMatchObject({
      digest: signature.digest,
      size: imageSize(signature),
      tags: [],
    });
    expect((await api("GET", `/projects/${project}/repositories/app/artifacts/nope`)).statusCode).toBe(404);
    expect((await api("GET", `/projects/${project}/repositories/nope`)).statusCode).toBe(404);
    const outsider = as(world.users.outsider);
    expect((await api("GET", `/projects/${project}/repositories/app`, outsider)).statusCode).toBe(403);
    expect(
      (await api("GET", `/projects/${project}/repositories/app/artifacts/v1`, outsider)).statusCode,
    ).toBe(403);
  });

  it("shows a tag as signed once Notary trust data signs the artifact's digest", async () => {
    const target = manifestTarget(image);
    await TestRepository.create(trustCall(`${td.hostPort}/${repository}`), { v1: target });
    await waitFor(
      "the signed status",
      async () =>
        (await artifacts()).find((a) => a.digest === image.digest)?.tags[0]?.signed ? true : undefined,
      5000,
    );
    expect((await artifacts()).find((a) => a.digest === untagged.digest)?.tags).toEqual([]);
    expect((await artifacts()).find((a) => a.digest === index.digest)?.tags[0]?.signed).toBe(false);
  });

  it("lets a maintainer, not a developer or guest, delete an artifact; its accessories go with it", async () => {
    const path = `/projects/${project}/repositories/app/artifacts/v1`;
    expect((await api("DELETE", path, as(world.users.developer))).statusCode).toBe(403);
    expect((await api("DELETE", path, as(world.users.guest))).statusCode).toBe(403);
    expect((await api("DELETE", path, as(world.users.outsider))).statusCode).toBe(403);
    expect((await api("DELETE", path, as(world.users.maintainer))).statusCode).toBe(200);
    expect((await api("DELETE", path, as(world.users.maintainer))).statusCode).toBe(404);

    expect((await artifacts()).map((a) => a.digest)).toEqual([index.digest, untagged.digest]);
    // Harbor's pull_count counts the repository's pulls, those of deleted artifacts too.
    expect((await repositories()).find((r) => r.name === repository)).toMatchObject({
      artifact_count: 2,
      pull_count: 3,
    });
    for (const gone of [image.digest, "latest", signature.digest, bundle.digest]) {
      expect((await registry.call("GET", `/v2/${repository}/manifests/${gone}`)).status).toBe(404);
    }
    const audit = await api("GET", "/audit-logs?page_size=20");
    const deletions = audit
      .json<Array<{ username: string; operation: string; resource: string; resource_type: string }>>()
      .filter((e) => e.operation === "delete");
    expect(deletions).toEqual(
      expect.arrayContaining(
        [image.digest, signature.digest, bundle.digest].map((digest) => ({
          id: expect.any(Number),
          op_time: expect.any(String),
          username: world.users.maintainer.username,
          operation: "delete",
          resource_type: "artifact",
          resource: `${repository}:${digest}`,
        })),
      ),
    );
  });

  it("refuses to delete an index's entry (412), and deletes an index with its entries", async () => {
    const entry = `/projects/${project}/repositories/app/artifacts/${entries[0]?.digest}`;
    const refused = await api("DELETE", entry);
    expect(refused.statusCode).toBe(412);
    expect(refused.json()).toEqual({
      errors: [{ code: "PRECONDITION", message: `the artifact is referenced by the index ${index.digest}` }],
    });
    expect((await api("DELETE", `/projects/${project}/repositories/app/artifacts/multi`)).statusCode).toBe(
      200,
    );
    for (const gone of entries) {
      expect((await registry.call("GET", `/v2/${repository}/manifests/${gone.digest}`)).status).toBe(404);
    }
    expect((await artifacts()).map((a) => a.digest)).toEqual([untagged.digest]);
    expect(
      (await api("DELETE", `/projects/${project}/repositories/app/artifacts/bad%25tag`)).statusCode,
    ).toBe(400);
  });

  it("deletes a repository with everything in it, for a maintainer only", async () => {
    const path = `/projects/${project}/repositories/app`;
    expect((await api("DELETE", path, as(world.users.developer))).statusCode).toBe(403);
    expect((await api("DELETE", path, as(world.users.maintainer))).statusCode).toBe(200);
    expect((await api("DELETE", path)).statusCode).toBe(404);
    expect((await repositories()).map((r) => r.name)).toEqual([`${project}/other`]);
    expect((await api("GET", `/projects/${project}/repositories/app/artifacts`)).statusCode).toBe(404);
    expect((await registry.call("GET", `/v2/${repository}/manifests/${untagged.digest}`)).status).toBe(404);
    await registry.pushImage(repository, "again");
    expect((await repositories()).find((r) => r.name === repository)).toMatchObject({
      artifact_count: 1,
      pull_count: 0,
    });
    const audit = await api("GET", "/audit-logs?page_size=5");
    expect(audit.json()).toContainEqual(
      expect.objectContaining({ operation: "delete", resource_type: "repository", resource: repository }),
    );
  });
});
