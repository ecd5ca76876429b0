import { describeOnEachDatabase } from "../../test/support/databases.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";
import { OCI_INDEX, OCI_MANIFEST } from "./manifest-format.js";
import {
  basicAuth,
  type PushedManifest,
  type RegistryClient,
  type RegistryReply,
  registryClient,
  sha256,
  uniqueRepository,
} from "./testing/registry-client.js";

const ADMIN_BASIC = basicAuth("admin", ADMIN_PASSWORD);

interface ReferrersIndex {
  schemaVersion: number;
  mediaType: string;
  manifests: Array<{
    mediaType: string;
    digest: string;
    size: number;
    artifactType?: string;
    annotations?: Record<string, string>;
  }>;
}

const SIGNATURE = "application/vnd.example.signature.v1";
const SBOM = "application/spdx+json";

describeOnEachDatabase("registry referrers", (databases) => {
  const suite = trustdockForSuite(databases);
  let td: TestTrustdock;
  let registry: RegistryClient;

  beforeAll(() => {
    td = suite.td;
    registry = registryClient(td.app, ADMIN_BASIC);
  });

  const code = (res: RegistryReply) => res.json().errors[0]?.code;
  const subjectOf = (m: PushedManifest) => ({ mediaType: m.mediaType, digest: m.digest, size: m.size });

  /** An artifact manifest (empty config) about `subject`, as `oras attach` and cosign push them. */
  async function attach(repo: string, subject: PushedManifest, artifactType: string, annotations: object) {
    const config = await registry.pushBlob(repo, "{}", "application/vnd.oci.empty.v1+json");
    const layer = await registry.pushBlob(repo, `${artifactType} of ${subject.digest}`, artifactType);
    return registry.pushManifest(
      repo,
      undefined,
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType,
        config,
        layers: [layer],
        subject: subjectOf(subject),
        annotations,
      },
      OCI_MANIFEST,
    );
  }

  it("answers a manifest PUT with a subject with OCI-Subject", async () => {
    const repo = uniqueRepository("subject");
    const image = await registry.pushImage(repo, "v1");
    const signature = await attach(repo, image, SIGNATURE, { "org.example.signer": "alice" });
    expect(signature.reply.status).toBe(201);
    expect(signature.reply.headers["oci-subject"]).toBe(image.digest);
  });

  it("lists the manifests whose subject is the digest, with artifactType and annotations", async () => {
    const repo = uniqueRepository("referrers");
    const image = await registry.pushImage(repo, "v1");
    const other = await registry.pushImage(repo, "v2", { content: "unrelated" });
    const signature = await attach(repo, image, SIGNATURE, { "org.example.signer": "alice" });
    const sbom = await attach(repo, image, SBOM, { "org.example.format": "spdx" });
    await attach(repo, other, SIGNATURE, {});

    const res = await registry.call("GET", `/v2/${repo}/referrers/${image.digest}`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe(OCI_INDEX);
    expect(res.headers["oci-filters-applied"]).toBeUndefined();
    const index = res.json<ReferrersIndex>();
    expect(index.schemaVersion).toBe(2);
    expect(index.mediaType).toBe(OCI_INDEX);
    expect(index.manifests).toEqual(
      expect.arrayContaining([
        {
          mediaType: OCI_MANIFEST,
          digest: signature.digest,
          size: signature.size,
          artifactType: SIGNATURE,
          annotations: { "org.example.signer": "alice" },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: sbom.digest,
          size: sbom.size,
          artifactType: SBOM,
          annotations: { "org.example.format": "spdx" },
        },
      ]),
    );
    expect(index.manifests).toHaveLength(2);
  });

  it("filters by artifactType and says so in OCI-Filters-Applied", async () => {
    const repo = uniqueRepository("filtered");
    const image = await registry.pushImage(repo, "v1");
    const signature = await attach(repo, image, SIGNATURE, {});
    await attach(repo, image, SBOM, {});

    const res = await registry.call(
      "GET",
      `/v2/${repo}/referrers/${image.digest}?artifactType=${encodeURIComponent(SIGNATURE)}`,
    );
    expect(res.status).toBe(200);
    expect(res.headers["oci-filters-applied"]).toBe("artifactType");
    expect(res.json<ReferrersIndex>().manifests.map((m) => m.digest)).toEqual([signature.digest]);

    const nul = await registry.call("GET", `/v2/${repo}/referrers/${image.digest}?artifactType=a%00`);
    expect(nul.status).toBe(400);

    const none = await registry.call(
      "GET",
      `/v2/${repo}/referrers/${image.digest}?artifactType=application/none`,
    );
    expect(none.json<ReferrersIndex>().manifests).toEqual([]);
    expect(none.headers["oci-filters-applied"]).toBe("artifactType");
  });

  it("takes the config's media type as the artifactType of an image manifest without one", async () => {
    const repo = uniqueRepository("config-type");
    const image = await registry.pushImage(repo, "v1");
    const configType = "application/vnd.example.config.v1+json";
    const referrer = await registry.pushImage(repo, undefined, {
      configType,
      extra: { subject: subjectOf(image) },
    });
    const res = await registry.call("GET", `/v2/${repo}/referrers/${image.digest}`);
    expect(res.json<ReferrersIndex>().manifests).toEqual([
      { mediaType: OCI_MANIFEST, digest: referrer.digest, size: referrer.size, artifactType: configType },
    ]);
  });

  it("lists referrers of a subject the repository does not hold (they may come first), and none of an unknown one", async () => {
    const repo = uniqueRepository("dangling");
    const absent = { mediaType: OCI_MANIFEST, digest: sha256("pushed later"), size: 12 };
    const config = await registry.pushBlob(repo, "{}", "application/vnd.oci.empty.v1+json");
    const early = await registry.pushManifest(
      repo,
      undefined,
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: SIGNATURE,
        config,
        layers: [],
        subject: absent,
      },
      OCI_MANIFEST,
    );
    expect(early.reply.status).toBe(201);
    const listed = await registry.call("GET", `/v2/${repo}/referrers/${absent.digest}`);
    expect(listed.json<ReferrersIndex>().manifests.map((m) => m.digest)).toEqual([early.digest]);

    const unknown = await registry.call("GET", `/v2/${repo}/referrers/${sha256("never")}`);
    expect(unknown.status).toBe(200);
    expect(unknown.json<ReferrersIndex>()).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
  });

  it("refuses a referrers query by something other than a digest with DIGEST_INVALID", async () => {
    const repo = uniqueRepository("bad-subject");
    const res = await registry.call("GET", `/v2/${repo}/referrers/latest`);
    expect([res.status, code(res)]).toEqual([400, "DIGEST_INVALID"]);
  });

  it("keeps the referrers tag schema (sha256-<hex>) working: it is just a tag", async () => {
    const repo = uniqueRepository("tag-schema");
    const image = await registry.pushImage(repo, "v1");
    const signature = await attach(repo, image, SIGNATURE, {});
    const fallbackTag = image.digest.replace(":", "-");
    const fallback = await registry.pushIndex(repo, fallbackTag, [
      { mediaType: OCI_MANIFEST, digest: signature.digest, size: signature.size },
    ]);
    expect(fallback.reply.status).toBe(201);
    const get = await registry.call("GET", `/v2/${repo}/manifests/${fallbackTag}`);
    expect(get.status).toBe(200);
    expect(get.body).toEqual(fallback.bytes);
    expect((await registry.call("GET", `/v2/${repo}/tags/list`)).json<{ tags: string[] }>().tags).toContain(
      fallbackTag,
    );
  });

  it("forgets a deleted referrer", async () => {
    const repo = uniqueRepository("deleted-referrer");
    const image = await registry.pushImage(repo, "v1");
    const signature = await attach(repo, image, SIGNATURE, {});
    expect((await registry.call("DELETE", `/v2/${repo}/manifests/${signature.digest}`)).status).toBe(202);
    const res = await registry.call("GET", `/v2/${repo}/referrers/${image.digest}`);
    expect(res.json<ReferrersIndex>().manifests).toEqual([]);
  });
});
