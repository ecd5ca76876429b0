import { describeOnEachDatabase } from "../../../test/support/databases.js";
import { apiForSuite } from "../../../test/support/harbor-api.js";
import { type CatalogArtifact, EMPTY_CATALOG, type RepositoryCatalog } from "../catalog.js";
import type { ApiClient } from "../testing/api-client.js";

const pushed = new Date("2026-01-02T03:04:05.000Z");
const SIGNED = `sha256:${"a".repeat(64)}`;
const UNSIGNED = `sha256:${"b".repeat(64)}`;
const COSIGN = `sha256:${"c".repeat(64)}`;

const artifact = (digest: string, tags: string[], extra: Partial<CatalogArtifact> = {}): CatalogArtifact => ({
  digest,
  mediaType: "application/vnd.oci.image.config.v1+json",
  manifestMediaType: "application/vnd.oci.image.manifest.v1+json",
  size: 1234,
  pushedAt: pushed,
  tags: tags.map((name) => ({ name, pushedAt: pushed })),
  ...extra,
});

// What a registry would hold: `team/sub/app` with a signed and an unsigned artifact, the first with a
// cosign signature attached.
const catalog: RepositoryCatalog = {
  ...EMPTY_CATALOG,
  async listRepositories(project, page) {
    const all =
      project.name === "team"
        ? ["team/app", "team/sub/app"].map((name) => ({
            name,
            artifactCount: 2,
            pullCount: 5,
            createdAt: pushed,
            updatedAt: pushed,
          }))
        : [];
    return { total: all.length, items: all.slice(page.offset, page.offset + page.limit) };
  },
  async listArtifacts(project, repository, page) {
    if (project.name !== "team" || repository !== "team/sub/app") return undefined;
    const all = [
      artifact(SIGNED, ["1.0", "latest"], {
        id: 7,
        accessories: [{ digest: COSIGN, type: "signature.cosign", size: 300, createdAt: pushed }],
      }),
      artifact(UNSIGNED, []),
    ];
    return { total: all.length, items: all.slice(page.offset, page.offset + page.limit) };
  },
};

describeOnEachDatabase("Harbor repositories and artifacts API", (factory) => {
  const checked: string[] = [];
  const suite = apiForSuite(factory, {
    options: {
      catalog,
      isSigned: async (repository, digest) => {
        checked.push(`${repository}@${digest}`);
        return digest === SIGNED;
      },
    },
  });
  let api: ApiClient;

  beforeAll(() => {
    api = suite.api;
  });

  it("lists a project's repositories from the catalog, paged", async () => {
    const response = await api.call("GET", "/projects/team/repositories?page_size=1", { as: "guest" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["x-total-count"]).toBe("2");
    expect(response.json()).toEqual([
      {
        project_id: expect.any(Number),
        name: "team/app",
        artifact_count: 2,
        pull_count: 5,
        creation_time: pushed.toISOString(),
        update_time: pushed.toISOString(),
      },
    ]);
  });

  it("lists artifacts with their tags, the signed status the check gives, and cosign signatures", async () => {
    const response = await api.call("GET", "/projects/team/repositories/sub%252Fapp/artifacts", {
      as: "guest",
    });
    expect(response.statusCode).toBe(200);
    const [signed, unsigned] = response.json() as Record<string, unknown>[];
    expect(signed).toEqual({
      id: 7,
      type: "IMAGE",
      media_type: "application/vnd.oci.image.config.v1+json",
      manifest_media_type: "application/vnd.oci.image.manifest.v1+json",
      project_id: expect.any(Number),
      repository_name: "team/sub/app",
      digest: SIGNED,
      size: 1234,
      push_time: pushed.toISOString(),
      tags: [
        { artifact_id: 7, name: "1.0", push_time: pushed.toISOString(), immutable: false, signed: true },
        { artifact_id: 7, name: "latest", push_time: pushed.toISOString(), immutable: false, signed: true },
      ],
      accessories: [
        {
          digest: COSIGN,
          type: "signature.cosign",
          size: 300,
          subject_artifact_digest: SIGNED,
          subject_artifact_repo: "team/sub/app",
          creation_time: pushed.toISOString(),
        },
      ],
    });
    expect(unsigned).toMatchObject({ digest: UNSIGNED, tags: [], accessories: [] });
    expect(checked).toContain(`team/sub/app@${SIGNED}`);
  });

  it("takes a repository name encoded once as well as Harbor's twice", async () => {
    const response = await api.call("GET", "/projects/team/repositories/sub%2Fapp/artifacts", {
      as: "guest",
    });
    expect(response.statusCode).toBe(200);
  });

  it("answers an unknown repository with 404 and a malformed one with 400", async () => {
    const unknown = await api.call("GET", "/projects/team/repositories/nothing/artifacts", { as: "guest" });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({
      errors: [{ code: "NOT_FOUND", message: "repository team/nothing not found" }],
    });
    const malformed = await api.call("GET", "/projects/team/repositories/Bad%25zz/artifacts", {
      as: "guest",
    });
    expect(malformed.statusCode).toBe(400);
  });

  it("shows repositories to those who may pull only", async () => {
    expect((await api.call("GET", "/projects/team/repositories", { as: "outsider" })).statusCode).toBe(403);
    expect((await api.call("GET", "/projects/team/repositories/sub%252Fapp/artifacts")).statusCode).toBe(401);
    expect((await api.call("GET", "/projects/open/repositories")).json()).toEqual([]);
  });
});
