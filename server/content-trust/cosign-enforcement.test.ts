import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { publicKeyToPem } from "../../core/cosign/keys.js";
import { signPayload } from "../../core/cosign/signature.js";
import { signatureTag } from "../../core/cosign/signature-manifest.js";
import { describeOnEachDatabase } from "../../test/support/databases.js";
import { waitFor } from "../../test/support/processes.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../../test/support/trustdock.js";
import { buildServer } from "../app.js";
import { ProjectStore } from "../projects/project-store.js";
import { basicAuth, type RegistryClient, registryClient } from "../registry/testing/registry-client.js";
import { PgDb } from "../storage/pg-driver.js";
import type { TrustSigner } from "../trust/trust-service.js";
import { NOT_SIGNED_BY_COSIGN, NOT_SIGNED_BY_TRUSTED_COSIGN_KEY } from "./pull-policy.js";
import {
  pushSignatureManifest,
  signClassic,
  signedPayload,
  signWithBundle,
} from "./testing/cosign-signing.js";

const PROJECT = "signed";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const newKey = () => generateKeyPairSync("ec", { namedCurve: "P-256" });

describeOnEachDatabase("cosign enforcement on pull", (databases) => {
  let td: TestTrustdock;
  let databaseUrl: string | undefined;
  let dispose: () => Promise<void>;
  let registry: RegistryClient;
  const auth = basicAuth("admin", ADMIN_PASSWORD);
  const trusted = newKey();
  let trustedKeyId: number;
  let counter = 0;

  const api = (method: "GET" | "POST" | "DELETE", path: string, body?: object) =>
    td.app.inject({
      method,
      url: `/api/v2.0/projects/${PROJECT}${path}`,
      headers: { authorization: auth },
      ...(body ? { payload: body } : {}),
    });
  const trustKey = async (name: string, key: KeyObject) => {
    const added = await api("POST", "/cosign-keys", { name, public_key: publicKeyToPem(key) });
    expect(added.statusCode).toBe(201);
    return added.json().id as number;
  };
  const pull = (repository: string, reference: string, method: "GET" | "HEAD" = "GET") =>
    registry.call(method, `/v2/${repository}/manifests/${reference}`, { headers: { accept: OCI_MANIFEST } });
  const refusal = async (repository: string, reference: string) => {
    const res = await pull(repository, reference);
    expect(res.status).toBe(412);
    const [error] = res.json().errors;
    expect(error?.code).toBe("PROJECT_POLICY_VIOLATION");
    return error?.message ?? "";
  };
  const eventually = (what: string, probe: () => Promise<boolean>) =>
    waitFor(what, async () => ((await probe()) ? true : undefined), 5000);
  /** A new image in a repository of its own, so no verdict of another test is in play. */
  const freshImage = async () => {
    const repository = `${PROJECT}/app-${++counter}`;
    const image = await registry.pushImage(repository, "v1", { content: `image ${counter}` });
    return { repository, image };
  };

  beforeAll(async () => {
    const target = await databases.create();
    databaseUrl = target.url;
    dispose = target.dispose;
    td = await startTestTrustdock({ databaseUrl });
    registry = registryClient(td.app, auth);
    const projects = new ProjectStore(td.db);
    await projects.create({
      name: PROJECT,
      metadata: { public: "false", enable_content_trust_cosign: "true" },
    });
    trustedKeyId = await trustKey("release", trusted.publicKey);
  }, 120_000); // a signer and a server, with every migration, on a machine busy with other suites
  afterAll(async () => {
    await td?.close();
    await dispose?.();
  });

  it("serves an image signed in the .sig layout with a trusted key, and refuses an unsigned one in Harbor's words", async () => {
    const { repository, image } = await freshImage();
    expect(await refusal(repository, "v1")).toBe(NOT_SIGNED_BY_COSIGN);
    expect((await pull(repository, "v1", "HEAD")).status).toBe(412);
    const signature = await signClassic(registry, repository, image, trusted.privateKey);
    for (const reference of ["v1", image.digest]) {
      const res = await pull(repository, reference);
      expect(res.status).toBe(200);
      expect(res.body.equals(image.bytes)).toBe(true);
    }
    expect((await pull(repository, image.digest, "HEAD")).status).toBe(200);
    expect((await pull(repository, signatureTag(image.digest))).body.equals(signature.bytes)).toBe(true);
  });

  it("serves an image signed with a Sigstore bundle referrer", async () => {
    const { repository, image } = await freshImage();
    await signWithBundle(registry, repository, image, trusted.privateKey);
    expect((await pull(repository, "v1")).status).toBe(200);
  });

  it("serves an image whose .sig manifest is pushed as an OCI 1.1 referrer (cosign's OCI 1.1 mode)", async () => {
    const { repository, image } = await freshImage();
    const tagged = await signClassic(registry, repository, image, trusted.privateKey);
    await registry.call("DELETE", `/v2/${repository}/manifests/${tagged.digest}`);
    expect(await refusal(repository, "v1")).toBe(NOT_SIGNED_BY_COSIGN);
    const referrer = {
      ...JSON.parse(tagged.bytes.toString()),
      artifactType: "application/vnd.dev.cosign.artifact.sig.v1+json",
      subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
    };
    expect((await registry.pushManifest(repository, undefined, referrer, OCI_MANIFEST)).reply.status).toBe(
      201,
    );
    expect((await pull(repository, "v1")).status).toBe(200);
  });

  it("does not let a runnable image past the check by naming a subject", async () => {
    const { repository, image } = await freshImage();
    await signClassic(registry, repository, image, trusted.privateKey);
    const posing = await registry.pushImage(repository, "posing", {
      content: "an image posing as an accessory",
      extra: { subject: { mediaType: image.mediaType, digest: image.digest, size: image.size } },
    });
    expect(await refusal(repository, posing.digest)).toBe(NOT_SIGNED_BY_COSIGN);
  });

  it("serves a platform's manifest of a signed multi-platform index, as docker pulls it, but not of an unsigned one", async () => {
    const { repository, image: amd64 } = await freshImage();
    const arm64 = await registry.pushImage(repository, undefined, { content: "arm64" });
    const platforms = [amd64, arm64].map(({ mediaType, digest, size }) => ({ mediaType, digest, size }));
    const index = await registry.pushIndex(repository, "multi", platforms);
    expect(await refusal(repository, "multi")).toBe(NOT_SIGNED_BY_COSIGN);
    expect(await refusal(repository, arm64.digest)).toBe(NOT_SIGNED_BY_COSIGN);
    await signClassic(registry, repository, index, trusted.privateKey);
    expect((await pull(repository, "multi")).status).toBe(200);
    expect((await pull(repository, arm64.digest)).status).toBe(200);
    const elsewhere = await registry.pushImage(repository, "loose", { content: "in no index" });
    expect(await refusal(repository, elsewhere.digest)).toBe(NOT_SIGNED_BY_COSIGN);
  });

  it("counts one good signature among bad ones", async () => {
    const { repository, image } = await freshImage();
    const stranger = newKey();
    await pushSignatureManifest(registry, repository, image.digest, [
      signedPayload(stranger.privateKey, repository, image.digest),
      signedPayload(trusted.privateKey, repository, image.digest),
    ]);
    expect((await pull(repository, "v1")).status).toBe(200);
  });

  describe("refuses tampered signatures, naming what was wrong", () => {
    const expectRefused = async (repository: string, reference: string, fault: RegExp) => {
      const message = await refusal(repository, reference);
      expect(message.startsWith(`${NOT_SIGNED_BY_TRUSTED_COSIGN_KEY}: `)).toBe(true);
      expect(message).toMatch(fault);
    };

    it("a signature made with another key", async () => {
      const { repository, image } = await freshImage();
      await signClassic(registry, repository, image, newKey().privateKey);
      await expectRefused(
        repository,
        "v1",
        /does not verify with the project's keys \(signed with a key the project does not trust/,
      );
      const bundled = await freshImage();
      await signWithBundle(registry, bundled.repository, bundled.image, newKey().privateKey);
      await expectRefused(
        bundled.repository,
        "v1",
        /signature was made with a key the project does not trust/,
      );
    });

    it("a payload changed after signing", async () => {
      const { repository, image } = await freshImage();
      const { signature } = signedPayload(trusted.privateKey, repository, image.digest);
      const changed = signedPayload(trusted.privateKey, `${repository}-elsewhere`, image.digest).payload;
      await pushSignatureManifest(registry, repository, image.digest, [{ payload: changed, signature }]);
      await expectRefused(
        repository,
        "v1",
        /does not verify with the project's keys .*the payload was changed after signing/,
      );
    });

    it("a signature for another digest", async () => {
      const { repository, image } = await freshImage();
      const other = await registry.pushImage(repository, "other", { content: "another image" });
      await pushSignatureManifest(registry, repository, image.digest, [
        signedPayload(trusted.privateKey, repository, other.digest),
      ]);
      await expectRefused(
        repository,
        "v1",
        new RegExp(`is for another digest: .*signs ${other.digest}, not this image's ${image.digest}`),
      );
    });

    it("a truncated signature", async () => {
      const { repository, image } = await freshImage();
      const layer = signedPayload(trusted.privateKey, repository, image.digest);
      await pushSignatureManifest(registry, repository, image.digest, [
        { ...layer, signature: layer.signature.subarray(0, layer.signature.length - 9) },
      ]);
      await expectRefused(repository, "v1", /signature is malformed: .*truncated/);
    });

    it("a layer that is not simple-signing though it carries the signature annotation", async () => {
      const { repository, image } = await freshImage();
      const layer = signedPayload(trusted.privateKey, repository, image.digest);
      await pushSignatureManifest(registry, repository, image.digest, [
        { ...layer, mediaType: "text/plain" },
      ]);
      await expectRefused(repository, "v1", /not a simple-signing layer: .*layer media type is text\/plain/);
    });

    it("a signed payload that is not a simple-signing payload", async () => {
      const { repository, image } = await freshImage();
      const payload = new TextEncoder().encode(`{"image":"${image.digest}"}`);
      await pushSignatureManifest(registry, repository, image.digest, [
        { payload, signature: signPayload(trusted.privateKey, payload) },
      ]);
      await expectRefused(repository, "v1", /signed payload is not a simple-signing payload/);
    });

    it("a swapped manifest: the tag moved to another image that carries the first one's signatures", async () => {
      const { repository, image } = await freshImage();
      const signature = await signClassic(registry, repository, image, trusted.privateKey);
      const swapped = await registry.pushImage(repository, "v1", { content: "swapped in" });
      expect(await refusal(repository, "v1")).toBe(NOT_SIGNED_BY_COSIGN);
      await registry.pushManifest(
        repository,
        signatureTag(swapped.digest),
        JSON.parse(signature.bytes.toString()),
        OCI_MANIFEST,
      );
      await expectRefused(repository, "v1", new RegExp(`is for another digest: .*signs ${image.digest}`));
      expect((await pull(repository, image.digest)).status).toBe(200);
    });
  });

  it("drops verdicts at once when this server stores or deletes a signature", async () => {
    const { repository, image } = await freshImage();
    expect(await refusal(repository, "v1")).toBe(NOT_SIGNED_BY_COSIGN);
    const signature = await signClassic(registry, repository, image, trusted.privateKey);
    expect((await pull(repository, "v1")).status).toBe(200);
    const deleted = await registry.call("DELETE", `/v2/${repository}/manifests/${signature.digest}`);
    expect(deleted.status).toBe(202);
    expect(await refusal(repository, "v1")).toBe(NOT_SIGNED_BY_COSIGN);
  });

  it("refuses once the project stops trusting the key, and serves again when it trusts it anew", async () => {
    const { repository, image } = await freshImage();
    const team = newKey();
    const id = await trustKey("team", team.publicKey);
    await signWithBundle(registry, repository, image, team.privateKey);
    await eventually(
      "the pull with the key trusted",
      async () => (await pull(repository, "v1")).status === 200,
    );
    expect((await api("DELETE", `/cosign-keys/${id}`)).statusCode).toBe(200);
    await eventually(
      "the refusal once the key is gone",
      async () => (await pull(repository, "v1")).status === 412,
    );
    expect(await refusal(repository, "v1")).toMatch(/a key the project does not trust/);
    await trustKey("team-again", team.publicKey);
    await eventually(
      "the pull with the key trusted again",
      async () => (await pull(repository, "v1")).status === 200,
    );
  });

  it("deletes an image's signatures with it: the .sig manifest and its referrers", async () => {
    const { repository, image } = await freshImage();
    const classic = await signClassic(registry, repository, image, trusted.privateKey);
    const bundle = await signWithBundle(registry, repository, image, trusted.privateKey);
    const unrelated = await registry.pushImage(repository, "kept", { content: "kept" });
    expect((await registry.call("DELETE", `/v2/${repository}/manifests/${image.digest}`)).status).toBe(202);
    for (const reference of [image.digest, classic.digest, bundle.digest, signatureTag(image.digest)])
      expect((await pull(repository, reference)).status).toBe(404);
    const referrers = await registry.call("GET", `/v2/${repository}/referrers/${image.digest}`);
    expect(referrers.json<{ manifests: unknown[] }>().manifests).toEqual([]);
    // Still there (unsigned, so refused rather than unknown).
    expect((await registry.call("HEAD", `/v2/${repository}/manifests/${unrelated.digest}`)).status).toBe(412);
    expect((await registry.call("DELETE", `/v2/${repository}/manifests/${image.digest}`)).status).toBe(404);
  });

  describe("real cosign signatures (../shared/fixtures/cosign)", () => {
    const fixtures = join(process.cwd(), "..", "shared", "fixtures", "cosign");
    const fixtureKey = (file: string) => createPublicKey(readFileSync(join(fixtures, file), "utf8"));
    /** The fixture's signatures pushed as cosign pushed them, and its image manifest stored beside them. */
    const storeFixture = async (project: string, file: string) => {
      const fixture = JSON.parse(readFileSync(join(fixtures, file), "utf8"));
      const repository = `${project}/${fixture.name}`;
      await pushSignatureManifest(
        registry,
        repository,
        fixture.manifest_digest,
        fixture.signatures.map(
          (s: { mediaType: string; payload: string; annotations: Record<string, string> }) => ({
            payload: Buffer.from(s.payload, "base64"),
            signature: Buffer.from(s.annotations["dev.cosignproject.cosign/signature"] ?? "", "base64"),
            mediaType: s.mediaType,
            annotations: s.annotations,
          }),
        ),
      );
      // The fixtures hold the image manifests but not their layers, which a push would need: stored as is.
      await td.db.query(
        `INSERT INTO registry_manifests (repository_id, digest, media_type, content)
         SELECT id, $2, $3, $4 FROM registry_repositories WHERE name = $1 ON CONFLICT DO NOTHING`,
        [
          repository,
          fixture.manifest_digest,
          "application/vnd.docker.distribution.manifest.v2+json",
          Buffer.from(fixture.manifest_base64, "base64"),
        ],
      );
      return { repository, digest: fixture.manifest_digest as string };
    };
    const reaches = (repository: string, digest: string, verdict: RegExp | 200) =>
      eventually(`the verdict on ${repository}`, async () => {
        const res = await pull(repository, digest);
        return verdict === 200
          ? res.status === 200
          : res.status === 412 && verdict.test(res.json().errors[0]?.message ?? "");
      });

    it("reach their expected verdicts with their keys trusted", async () => {
      for (const file of ["cosign.pub", "cosign2.pub"]) await trustKey(file, fixtureKey(file));
      const expected: Record<string, RegExp | 200> = {
        "cosign-valid.json": 200,
        "cosign-key-rekor-valid.json": 200,
        "cosign-modified-manifest.json": /is for another digest/,
        "cosign-other-attachment.json": /not a simple-signing layer/,
      };
      for (const [file, verdict] of Object.entries(expected)) {
        const { repository, digest } = await storeFixture(PROJECT, file);
        await reaches(repository, digest, verdict);
      }
    });

    it("are refused as made with an untrusted key when their Rekor entry names a key the project lacks", async () => {
      const project = "halftrust";
      await new ProjectStore(td.db).create({
        name: project,
        metadata: { public: "false", enable_content_trust_cosign: "true" },
      });
      const added = await td.app.inject({
        method: "POST",
        url: `/api/v2.0/projects/${project}/cosign-keys`,
        headers: { authorization: auth },
        payload: { name: "cosign", public_key: readFileSync(join(fixtures, "cosign.pub"), "utf8") },
      });
      expect(added.statusCode).toBe(201);
      const { repository, digest } = await storeFixture(project, "cosign-key-rekor-valid.json");
      await reaches(
        repository,
        digest,
        /made with a key the project does not trust \(the one its Rekor entry names\)/,
      );
    });
  });

  // Only on PostgreSQL: an embedded database belongs to one process, so there is no second server to ask.
  if (databases.driver === "postgres")
    it("two servers on one database see each other's changes", async () => {
      const db = new PgDb(databaseUrl ?? "");
      const unusedSigner = {} as TrustSigner; // no trust data is published through the second server
      const second = await buildServer({ db, signer: unusedSigner, blobDir: join(td.dataDir, "blobs") });
      try {
        const other = registryClient(second, auth);
        const { repository, image } = await freshImage();
        const signature = await signClassic(registry, repository, image, trusted.privateKey);
        expect((await other.call("GET", `/v2/${repository}/manifests/v1`)).status).toBe(200);
        await registry.call("DELETE", `/v2/${repository}/manifests/${signature.digest}`);
        await eventually(
          "the second server's refusal",
          async () => (await other.call("GET", `/v2/${repository}/manifests/v1`)).status === 412,
        );
        await signClassic(registry, repository, image, trusted.privateKey);
        await eventually(
          "the second server's pull",
          async () => (await other.call("GET", `/v2/${repository}/manifests/v1`)).status === 200,
        );
        expect((await api("DELETE", `/cosign-keys/${trustedKeyId}`)).statusCode).toBe(200);
        await eventually(
          "the second server's refusal without the key",
          async () => (await other.call("GET", `/v2/${repository}/manifests/v1`)).status === 412,
        );
      } finally {
        await second.close();
        await db.close();
      }
    });
});
