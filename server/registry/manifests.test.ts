import { describeOnEachDatabase } from "../../test/support/databases.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  MAX_MANIFEST_BYTES,
  OCI_INDEX,
  OCI_MANIFEST,
} from "./manifest-format.js";
import {
  basicAuth,
  type RegistryClient,
  type RegistryReply,
  registryClient,
  sha256,
  uniqueRepository,
} from "./testing/registry-client.js";

const ADMIN_BASIC = basicAuth("admin", ADMIN_PASSWORD);

describeOnEachDatabase("registry manifests", (databases) => {
  const suite = trustdockForSuite(databases);
  let td: TestTrustdock;
  let registry: RegistryClient;

  beforeAll(() => {
    td = suite.td;
    registry = registryClient(td.app, ADMIN_BASIC);
  });

  const code = (res: RegistryReply) => res.json().errors[0]?.code;

  async function expectServed(repo: string, reference: string, bytes: Buffer, mediaType: string) {
    const digest = sha256(bytes);
    const get = await registry.call("GET", `/v2/${repo}/manifests/${reference}`);
    expect(get.status).toBe(200);
    expect(get.body).toEqual(bytes);
    expect(get.headers["content-type"]).toBe(mediaType);
    expect(get.headers["docker-content-digest"]).toBe(digest);
    expect(get.headers.etag).toBe(`"${digest}"`);
    const head = await registry.call("HEAD", `/v2/${repo}/manifests/${reference}`);
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers["content-length"]).toBe(String(bytes.length));
    expect(head.headers["docker-content-digest"]).toBe(digest);
    expect(head.headers["content-type"]).toBe(mediaType);
  }

  it.each([OCI_MANIFEST, DOCKER_MANIFEST])(
    "stores a %s by tag and serves it by tag and digest",
    async (type) => {
      const repo = uniqueRepository("image");
      const pushed = await registry.pushImage(repo, "v1", { mediaType: type });
      expect(pushed.reply.status).toBe(201);
      expect(pushed.reply.headers.location).toBe(`/v2/${repo}/manifests/${pushed.digest}`);
      expect(pushed.reply.headers["docker-content-digest"]).toBe(pushed.digest);
      expect(pushed.reply.headers["oci-subject"]).toBeUndefined();
      await expectServed(repo, "v1", pushed.bytes, type);
      await expectServed(repo, pushed.digest, pushed.bytes, type);
    },
  );

  it.each([OCI_INDEX, DOCKER_MANIFEST_LIST])(
    "stores a %s whose entries the repository holds",
    async (type) => {
      const repo = uniqueRepository("index");
      const childType = type === OCI_INDEX ? OCI_MANIFEST : DOCKER_MANIFEST;
      const amd64 = await registry.pushImage(repo, undefined, { mediaType: childType, content: "amd64" });
      const arm64 = await registry.pushImage(repo, undefined, { mediaType: childType, content: "arm64" });
      const entries = [amd64, arm64].map(({ mediaType, digest, size }, i) => ({
        mediaType,
        digest,
        size,
        platform: { architecture: i === 0 ? "amd64" : "arm64", os: "linux" },
      }));
      const index = await registry.pushManifest(
        repo,
        "multi",
        { schemaVersion: 2, mediaType: type, manifests: entries },
        type,
      );
      expect(index.reply.status).toBe(201);
      await expectServed(repo, "multi", index.bytes, type);
    },
  );

  it("pushes by digest: the reference must be the content's digest", async () => {
    const repo = uniqueRepository("by-digest");
    const config = await registry.pushBlob(repo, "{}", "application/vnd.oci.image.config.v1+json");
    const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] };
    const good = await registry.pushManifest(repo, undefined, manifest, OCI_MANIFEST);
    expect(good.reply.status).toBe(201);
    await expectServed(repo, good.digest, good.bytes, OCI_MANIFEST);

    const wrong = await registry.pushManifest(
      repo,
      sha256("other bytes"),
      { ...manifest, annotations: { a: "b" } },
      OCI_MANIFEST,
    );
    expect(wrong.reply.status).toBe(400);
    expect(code(wrong.reply)).toBe("DIGEST_INVALID");
    expect((await registry.call("HEAD", `/v2/${repo}/manifests/${sha256("other bytes")}`)).status).toBe(404);
    expect((await registry.call("HEAD", `/v2/${repo}/manifests/${wrong.digest}`)).status).toBe(404);
  });

  it("accepts an OCI artifact media type shaped as an image manifest, and keeps its type", async () => {
    const repo = uniqueRepository("artifact");
    const config = await registry.pushBlob(repo, "{}", "application/vnd.oci.empty.v1+json");
    const layer = await registry.pushBlob(repo, "an sbom", "application/spdx+json");
    const artifactType = "application/vnd.oci.custom.artifact.v1+json";
    const pushed = await registry.pushManifest(
      repo,
      "sbom",
      { schemaVersion: 2, config, layers: [layer] },
      artifactType,
    );
    expect(pushed.reply.status).toBe(201);
    await expectServed(repo, "sbom", pushed.bytes, artifactType);
  });

  it("refuses a manifest naming blobs the repository lacks with MANIFEST_BLOB_UNKNOWN, storing nothing", async () => {
    const repo = uniqueRepository("missing-blob");
    const elsewhere = uniqueRepository("elsewhere");
    const config = await registry.pushBlob(repo, "{}", "application/vnd.oci.image.config.v1+json");
    // Present in the registry, but not in this repository: still unknown here.
    const foreign = await registry.pushBlob(elsewhere, "a layer of another repository");
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers: [{ ...foreign, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" }],
    };
    const res = await registry.pushManifest(repo, "broken", manifest, OCI_MANIFEST);
    expect(res.reply.status).toBe(400);
    expect(code(res.reply)).toBe("MANIFEST_BLOB_UNKNOWN");
    expect(res.reply.json().errors[0]?.detail).toEqual({ digest: foreign.digest });
    expect((await registry.call("GET", `/v2/${repo}/manifests/broken`)).status).toBe(404);
    expect((await registry.call("GET", `/v2/${repo}/manifests/${res.digest}`)).status).toBe(404);
  });

  it("refuses an index naming manifests the repository lacks with MANIFEST_BLOB_UNKNOWN", async () => {
    const repo = uniqueRepository("missing-child");
    const res = await registry.pushIndex(repo, "broken", [
      { mediaType: OCI_MANIFEST, digest: sha256("no such manifest"), size: 10 },
    ]);
    expect(res.reply.status).toBe(400);
    expect(code(res.reply)).toBe("MANIFEST_BLOB_UNKNOWN");
    // Refused before the repository came to exist: it has no tags to list.
    expect((await registry.call("GET", `/v2/${repo}/tags/list`)).status).toBe(404);
  });

  it("refuses a manifest over 4 MiB with 413 MANIFEST_INVALID", async () => {
    const repo = uniqueRepository("huge");
    const config = await registry.pushBlob(repo, "{}", "application/vnd.oci.image.config.v1+json");
    const padding = "x".repeat(MAX_MANIFEST_BYTES);
    const res = await registry.pushManifest(
      repo,
      "huge",
      { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [], annotations: { padding } },
      OCI_MANIFEST,
    );
    expect(res.reply.status).toBe(413);
    expect(code(res.reply)).toBe("MANIFEST_INVALID");
    expect((await registry.call("HEAD", `/v2/${repo}/manifests/huge`)).status).toBe(404);
  });

  it("refuses unknown media types, malformed JSON and malformed manifests with MANIFEST_INVALID", async () => {
    const repo = uniqueRepository("invalid");
    const config = await registry.pushBlob(repo, "{}", "application/vnd.oci.image.config.v1+json");
    const good = { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] };
    const cases: Array<[string, string, string]> = [
      [
        "unknown type",
        JSON.stringify({ ...good, mediaType: undefined }),
        "application/vnd.example.thing+json",
      ],
      [
        "schema 1",
        JSON.stringify({ schemaVersion: 1, name: repo, tag: "x", fsLayers: [] }),
        "application/vnd.docker.distribution.manifest.v1+json",
      ],
      ["not JSON", "{not json", OCI_MANIFEST],
      ["not an object", "[]", OCI_MANIFEST],
      ["type mismatch", JSON.stringify(good), DOCKER_MANIFEST],
      ["no config", JSON.stringify({ ...good, config: undefined }), OCI_MANIFEST],
      [
        "bad layer digest",
        JSON.stringify({ ...good, layers: [{ ...config, digest: "sha256:zz" }] }),
        OCI_MANIFEST,
      ],
      ["negative size", JSON.stringify({ ...good, config: { ...config, size: -1 } }), OCI_MANIFEST],
      ["bad annotations", JSON.stringify({ ...good, annotations: { a: 1 } }), OCI_MANIFEST],
      [
        "artifact not shaped as an image",
        JSON.stringify({ mediaType: "application/vnd.oci.artifact.manifest.v1+json", blobs: [] }),
        "application/vnd.oci.artifact.manifest.v1+json",
      ],
      ["wrong schemaVersion", JSON.stringify({ ...good, schemaVersion: 3 }), OCI_MANIFEST],
    ];
    for (const [what, body, type] of cases) {
      const res = await registry.call("PUT", `/v2/${repo}/manifests/bad`, {
        headers: { "content-type": type },
        body,
      });
      expect([what, res.status, code(res)]).toEqual([what, 400, "MANIFEST_INVALID"]);
    }
    expect((await registry.call("HEAD", `/v2/${repo}/manifests/bad`)).status).toBe(404);
  });

  it("answers a malformed Content-Type, and text the database cannot hold, with registry errors", async () => {
    const repo = uniqueRepository("malformed");
    const header = await registry.call("PUT", `/v2/${repo}/manifests/v1`, {
      headers: { "content-type": "not a media type" },
      body: "{}",
    });
    expect(header.status).toBe(415);
    expect(header.headers["docker-distribution-api-version"]).toBe("registry/2.0");
    expect(code(header)).toBe("UNSUPPORTED");

    const config = await registry.pushBlob(repo, "{}", "application/vnd.oci.image.config.v1+json");
    for (const field of ["mediaType", "artifactType"]) {
      const body = JSON.stringify({
        schemaVersion: 2,
        [field]: "application/vnd.oci.\u0000",
        config,
        layers: [],
      });
      const res = await registry.call("PUT", `/v2/${repo}/manifests/v1`, {
        headers: { "content-type": OCI_MANIFEST },
        body,
      });
      expect([field, res.status, code(res)]).toEqual([field, 400, "MANIFEST_INVALID"]);
    }
  });

  it("takes the media type from the manifest when the Content-Type is generic", async () => {
    const repo = uniqueRepository("generic-type");
    const config = await registry.pushBlob(repo, "{}", "application/vnd.oci.image.config.v1+json");
    const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] });
    const res = await registry.call("PUT", `/v2/${repo}/manifests/generic`, {
      headers: { "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(201);
    await expectServed(repo, "generic", Buffer.from(body), OCI_MANIFEST);
  });

  it("refuses tags outside the spec's grammar with TAG_INVALID and bad digests with DIGEST_INVALID", async () => {
    const repo = uniqueRepository("bad-tag");
    for (const tag of [".hidden", "-dash", "a".repeat(129), "t%20space"]) {
      const res = await registry.call("GET", `/v2/${repo}/manifests/${tag}`);
      expect([tag, res.status, code(res)]).toEqual([tag, 400, "TAG_INVALID"]);
    }
    const put = await registry.call("PUT", `/v2/${repo}/manifests/-bad`, {
      headers: { "content-type": OCI_MANIFEST },
      body: "{}",
    });
    expect(code(put)).toBe("TAG_INVALID");
    const digest = await registry.call("GET", `/v2/${repo}/manifests/sha256:short`);
    expect([digest.status, code(digest)]).toEqual([400, "DIGEST_INVALID"]);
  });

  it("answers MANIFEST_UNKNOWN for unknown tags and digests", async () => {
    const repo = uniqueRepository("unknown");
    for (const reference of ["nope", sha256("nope")]) {
      const res = await registry.call("GET", `/v2/${repo}/manifests/${reference}`);
      expect([reference, res.status, code(res)]).toEqual([reference, 404, "MANIFEST_UNKNOWN"]);
    }
  });

  it("moves a tag to the manifest pushed last under it", async () => {
    const repo = uniqueRepository("retag");
    const first = await registry.pushImage(repo, "latest", { content: "first" });
    const second = await registry.pushImage(repo, "latest", { content: "second" });
    await expectServed(repo, "latest", second.bytes, OCI_MANIFEST);
    await expectServed(repo, first.digest, first.bytes, OCI_MANIFEST);
  });

  it("deletes a tag alone by tag, and a manifest with all its tags by digest, with 202", async () => {
    const repo = uniqueRepository("delete");
    const pushed = await registry.pushImage(repo, "one");
    await registry.pushManifest(repo, "two", JSON.parse(pushed.bytes.toString()), OCI_MANIFEST);

    expect((await registry.call("DELETE", `/v2/${repo}/manifests/one`)).status).toBe(202);
    expect((await registry.call("GET", `/v2/${repo}/manifests/one`)).status).toBe(404);
    expect((await registry.call("GET", `/v2/${repo}/manifests/two`)).status).toBe(200);

    expect((await registry.call("DELETE", `/v2/${repo}/manifests/${pushed.digest}`)).status).toBe(202);
    expect((await registry.call("GET", `/v2/${repo}/manifests/${pushed.digest}`)).status).toBe(404);
    expect((await registry.call("GET", `/v2/${repo}/manifests/two`)).status).toBe(404);
    expect((await registry.call("GET", `/v2/${repo}/tags/list`)).json<{ tags: string[] }>().tags).toEqual([]);

    const again = await registry.call("DELETE", `/v2/${repo}/manifests/${pushed.digest}`);
    expect([again.status, code(again)]).toEqual([404, "MANIFEST_UNKNOWN"]);
  });

  it("needs pull to read, push to write and every action to delete", async () => {
    const repo = uniqueRepository("manifest-auth");
    const pushed = await registry.pushImage(repo, "v1");
    const token = (
      await registry.call("GET", `/service/token?service=trustdock&scope=repository:${repo}:pull,push`)
    ).json<{ token: string }>().token;
    const auth = `Bearer ${token}`;
    expect((await registry.call("GET", `/v2/${repo}/manifests/v1`, { auth })).status).toBe(200);
    const remove = await registry.call("DELETE", `/v2/${repo}/manifests/${pushed.digest}`, { auth });
    expect([remove.status, code(remove)]).toEqual([403, "DENIED"]);
    const anonymous = await registry.call("GET", `/v2/${repo}/manifests/v1`, { auth: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers["www-authenticate"]).toContain(`scope="repository:${repo}:pull"`);
  });
});
