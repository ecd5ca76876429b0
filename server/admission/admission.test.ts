import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signPayload } from "../../core/cosign/signature.js";
import {
  buildSignatureManifest,
  signatureLayerDescriptor,
  signatureTag,
} from "../../core/cosign/signature-manifest.js";
import { buildSimpleSigningPayload } from "../../core/cosign/simple-signing.js";
import { toBase64 } from "../../core/encoding.js";
import { describeOnEachDatabase } from "../../test/support/databases.js";
import { httpsRequest } from "../../test/support/http.js";
import { freePort, waitFor } from "../../test/support/processes.js";
import { injectedTrustCall, manifestTarget, TestRepository } from "../../test/support/trust-repository.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";
import { AuditLog } from "../projects/audit-log.js";
import { basicAuth, type RegistryClient, registryClient } from "../registry/testing/registry-client.js";
import { applyJsonPatch } from "./testing/json-patch.js";
import { cronJobReview, deploymentReview, ephemeralContainerReview, podReview } from "./testing/reviews.js";

interface ReviewReply {
  apiVersion: string;
  kind: string;
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; message: string };
    warnings?: string[];
    patchType?: string;
    patch?: string;
  };
}

const DEADLINE_SECONDS = 2;

function cosignKeyPair() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey, publicPem: publicKey.export({ format: "pem", type: "spki" }).toString() };
}

describeOnEachDatabase("admission webhook", (databases) => {
  const policyDir = mkdtempSync(join(tmpdir(), "trustdock-admission-"));
  const policyFile = join(policyDir, "policy.yaml");
  writeFileSync(policyFile, "apiVersion: trustdock.dev/v1\nkind: AdmissionPolicy\nrules: []\n");
  const suite = trustdockForSuite(databases, { admissionPolicyFile: policyFile });
  const auth = basicAuth("admin", ADMIN_PASSWORD);
  let td: TestTrustdock;
  let registry: RegistryClient;
  let ca: Buffer;
  let closedPort: number;
  let silent: Server;
  const silentSockets: Socket[] = [];
  let silentPort: number;
  let repositories = 0;
  const cosignKey = cosignKeyPair();

  const writePolicy = (extra: { exempt?: string[] } = {}) =>
    writeFileSync(
      policyFile,
      [
        "apiVersion: trustdock.dev/v1",
        "kind: AdmissionPolicy",
        `deadlineSeconds: ${DEADLINE_SECONDS}`,
        "cacheTtlSeconds: 30",
        `exemptNamespaces: [${(extra.exempt ?? ["kube-system"]).map((n) => JSON.stringify(n)).join(", ")}]`,
        "registries:",
        `  "${td.hostPort}":`,
        "    username: admin",
        `    password: ${JSON.stringify(ADMIN_PASSWORD)}`,
        `    caFile: ${JSON.stringify(td.tls.caCert)}`,
        "rules:",
        "  - name: cosign-signed images",
        `    images: ["${td.hostPort}/library/cosigned-*"]`,
        "    verify:",
        `      cosign: { keys: [${JSON.stringify(cosignKey.publicPem)}] }`,
        "  - name: trustdock images are signed",
        `    images: ["${td.hostPort}/library/**"]`,
        "    verify:",
        "      notary: {}",
        "  - name: unreachable registries",
        `    images: ["127.0.0.1:${closedPort}/**", "127.0.0.1:${silentPort}/**"]`,
        "    verify:",
        "      notary: {}",
        "",
      ].join("\n"),
    );

  beforeAll(async () => {
    td = suite.td;
    registry = registryClient(td.app, auth);
    ca = readFileSync(td.tls.caCert);
    closedPort = await freePort();
    // A registry that accepts connections and never answers, not even the TLS handshake.
    silent = createServer((socket) => silentSockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    silentPort = (silent.address() as { port: number }).port;
    writePolicy();
    // Trustdock looks at the file once a second at most: wait for this policy (kube-system exempt) to apply.
    await waitFor("the suite's policy in force", async () =>
      (await post("validate", podReview("kube-system", ["nginx:1.27"]))).json().response.allowed
        ? true
        : undefined,
    );
  });

  afterAll(async () => {
    for (const socket of silentSockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    rmSync(policyDir, { recursive: true, force: true });
  });

  const trustCall = (gun: string) => injectedTrustCall(td.app, auth, gun);

  /** An image pushed as `<repo>:v1` and, unless told otherwise, signed in Notary under that tag. */
  async function pushImage(prefix: string, opts: { signed?: boolean } = {}) {
    repositories += 1;
    const repository = `library/${prefix}-${repositories}`;
    const pushed = await registry.pushImage(repository, "v1", { content: `${prefix} ${repositories}` });
    const gun = `${td.hostPort}/${repository}`;
    const trust =
      opts.signed === false
        ? undefined
        : await TestRepository.create(trustCall(gun), { v1: manifestTarget(pushed) });
    return { repository, gun, image: `${gun}:v1`, digest: pushed.digest, trust };
  }

  const post = async (path: string, body: unknown) => {
    const res = await httpsRequest({
      url: `${td.url}/admission/${path}`,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
      ca,
    });
    return { status: res.status, json: () => JSON.parse(res.body.toString()) as ReviewReply, body: res.body };
  };

  const patchOf = (reply: ReviewReply) => {
    expect(reply.response.patchType).toBe("JSONPatch");
    return JSON.parse(Buffer.from(reply.response.patch ?? "", "base64").toString()) as Array<{
      op: string;
      path: string;
      value: string;
    }>;
  };

  it("allows a Pod whose image is signed, and mutate pins it by a patch that applies to the Pod", async () => {
    const signed = await pushImage("pod");
    const review = podReview("default", [signed.image]);
    const validated = await post("validate", review);
    expect(validated.status).toBe(200);
    const reply = validated.json();
    expect(reply).toMatchObject({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" });
    expect(reply.response).toEqual({ uid: review.request.uid, allowed: true });

    const mutated = (await post("mutate", review)).json();
    expect(mutated.response).toMatchObject({ uid: review.request.uid, allowed: true });
    const patch = patchOf(mutated);
    expect(patch).toEqual([
      { op: "replace", path: "/spec/containers/0/image", value: `${signed.gun}@${signed.digest}` },
    ]);
    const pod = applyJsonPatch(review.request.object, patch);
    expect(pod.spec.containers[0]?.image).toBe(`${signed.gun}@${signed.digest}`);
    expect({ ...pod, spec: { ...pod.spec, containers: [] } }).toEqual({
      ...review.request.object,
      spec: { ...review.request.object.spec, containers: [] },
    });

    // The pinned Pod comes back to validate (mutating webhooks run first) and is still admitted.
    const pinned = { ...review, request: { ...review.request, object: pod } };
    expect((await post("validate", pinned)).json().response.allowed).toBe(true);

    // Decisions reach the audit log in batches, shortly after the reviews they record.
    const decisions = await waitFor("three admission decisions in the audit log", async () => {
      const audit = await new AuditLog(td.db).list({ kind: "all" }, { limit: 50, offset: 0 });
      const found = audit.items.filter(
        (e) => e.resourceType === "admission" && e.resource.includes(signed.gun),
      );
      return found.length >= 3 ? found : undefined;
    });
    expect(decisions.every((e) => e.operation === "admit" && e.username === "kubernetes-admin")).toBe(true);
  });

  it("pins the images of a Deployment and of a CronJob at their pod template paths", async () => {
    const [web, sidecar] = [await pushImage("deploy"), await pushImage("sidecar")];
    const deployment = deploymentReview("shop", [web.image, sidecar.image]);
    const deployed = (await post("mutate", deployment)).json();
    expect(deployed.response.allowed).toBe(true);
    const patch = patchOf(deployed);
    expect(patch).toEqual([
      { op: "replace", path: "/spec/template/spec/containers/0/image", value: `${web.gun}@${web.digest}` },
      {
        op: "replace",
        path: "/spec/template/spec/containers/1/image",
        value: `${sidecar.gun}@${sidecar.digest}`,
      },
    ]);
    const patched = applyJsonPatch(deployment.request.object, patch);
    expect(patched.spec.template.spec.containers.map((c) => c.image)).toEqual([
      `${web.gun}@${web.digest}`,
      `${sidecar.gun}@${sidecar.digest}`,
    ]);

    const job = await pushImage("cron");
    const cron = cronJobReview("batch", [job.image]);
    const scheduled = (await post("mutate", cron)).json();
    expect(scheduled.response.allowed).toBe(true);
    const cronPatch = patchOf(scheduled);
    expect(cronPatch).toEqual([
      {
        op: "replace",
        path: "/spec/jobTemplate/spec/template/spec/containers/0/image",
        value: `${job.gun}@${job.digest}`,
      },
    ]);
    expect(
      applyJsonPatch(cron.request.object, cronPatch).spec.jobTemplate.spec.template.spec.containers[0]?.image,
    ).toBe(`${job.gun}@${job.digest}`);
  });

  it("reads init and ephemeral containers: one unsigned among them refuses the pod, naming it", async () => {
    const [app, init, debug] = [await pushImage("app"), await pushImage("init"), await pushImage("debug")];
    // The pod is created first (containers and init containers)...
    const debugged = ephemeralContainerReview("ops", {
      container: app.image,
      init: init.image,
      ephemeral: debug.image,
    });
    const stored = debugged.request.oldObject;
    if (!stored) throw new Error("an ephemeral container review carries the stored pod");
    const creation = {
      ...debugged,
      request: { ...debugged.request, operation: "CREATE", object: stored, oldObject: null },
    };
    delete (creation.request as { subResource?: string }).subResource;
    delete (creation.request as { requestSubResource?: string }).requestSubResource;
    const created = (await post("mutate", creation)).json();
    expect(created.response.allowed).toBe(true);
    const createPatch = patchOf(created);
    expect(createPatch.map((op) => op.path)).toEqual([
      "/spec/containers/0/image",
      "/spec/initContainers/0/image",
    ]);
    const pod = applyJsonPatch(creation.request.object, createPatch);
    expect(pod.spec.initContainers?.[0]?.image).toBe(`${init.gun}@${init.digest}`);

    // ...then `kubectl debug` adds an ephemeral container: only the new image is checked and pinned.
    const pinned = { container: `${app.gun}@${app.digest}`, init: `${init.gun}@${init.digest}` };
    const allSigned = ephemeralContainerReview("ops", { ...pinned, ephemeral: debug.image });
    const mutated = (await post("mutate", allSigned)).json();
    expect(mutated.response.allowed).toBe(true);
    const patch = patchOf(mutated);
    expect(patch).toEqual([
      { op: "replace", path: "/spec/ephemeralContainers/0/image", value: `${debug.gun}@${debug.digest}` },
    ]);
    const debuggedPod = applyJsonPatch(allSigned.request.object, patch);
    expect(debuggedPod.spec.ephemeralContainers?.[0]).toMatchObject({
      image: `${debug.gun}@${debug.digest}`,
    });

    const unsigned = await pushImage("unsigned-debug", { signed: false });
    const refused = ephemeralContainerReview("ops", { ...pinned, ephemeral: unsigned.image });
    const reply = (await post("validate", refused)).json();
    expect(reply.response.uid).toBe(refused.request.uid);
    expect(reply.response.allowed).toBe(false);
    expect(reply.response.status?.code).toBe(403);
    expect(reply.response.status?.message).toMatch(
      new RegExp(
        `^trustdock refused 1 image: image ${unsigned.image.replace(/\./g, "\\.")} \\(ephemeral container "debugger-x7k2p"\\): not signed: .* has no Notary trust data`,
      ),
    );
    expect((await post("mutate", refused)).json().response).toMatchObject({ allowed: false });
    expect((await post("mutate", refused)).json().response.patch).toBeUndefined();
  });

  it("lets an update that leaves the images as they are through, even when their registry is down", async () => {
    const dead = `127.0.0.1:${closedPort}/library/app:v1`;
    const created = podReview("default", [dead]);
    expect((await post("validate", created)).json().response.allowed).toBe(false);
    const relabelled = structuredClone(created.request.object);
    relabelled.metadata.labels = { app: "web", tier: "front" };
    const update = {
      ...created,
      request: {
        ...created.request,
        operation: "UPDATE",
        object: relabelled,
        oldObject: created.request.object,
      },
    };
    expect((await post("validate", update)).json().response).toEqual({
      uid: update.request.uid,
      allowed: true,
    });
    relabelled.spec.containers.push({
      ...(relabelled.spec.containers[0] as (typeof relabelled.spec.containers)[0]),
      name: "b",
    });
    const added = (await post("validate", update)).json();
    expect(added.response.allowed).toBe(false);
    expect(added.response.status?.message).toContain('(container "b")');
    expect(added.response.status?.message).not.toContain('(container "app-0")');
  });

  /** A `.sig` manifest as `cosign sign --key` pushes it beside the image, signed with `privateKey`. */
  async function cosignSign(repository: string, digest: string, privateKey: KeyObject) {
    const payload = buildSimpleSigningPayload({
      dockerReference: `${td.hostPort}/${repository}`,
      manifestDigest: digest,
      optional: null,
    });
    const layer = signatureLayerDescriptor({
      payload,
      annotations: { "dev.cosignproject.cosign/signature": toBase64(signPayload(privateKey, payload)) },
    });
    const { manifest, config } = buildSignatureManifest([layer]);
    await registry.pushBlob(repository, Buffer.from(payload));
    await registry.pushBlob(repository, Buffer.from(config));
    const pushed = await registry.pushManifest(
      repository,
      signatureTag(digest),
      JSON.parse(Buffer.from(manifest).toString()),
      "application/vnd.oci.image.manifest.v1+json",
    );
    expect(pushed.reply.status).toBe(201);
  }

  it("admits an image a cosign rule requires once it is signed with the policy's key, not before or by another", async () => {
    repositories += 1;
    const repository = `library/cosigned-${repositories}`;
    const image = await registry.pushImage(repository, "v1", { content: "cosigned" });
    const reference = `${td.hostPort}/${repository}:v1`;
    const refused = (await post("validate", podReview("default", [reference]))).json();
    expect(refused.response.status?.message).toContain(`cosign: no cosign signature for ${image.digest}`);

    await cosignSign(repository, image.digest, cosignKeyPair().privateKey);
    writePolicy(); // a new policy object: the cached refusal goes
    const otherKey = await waitFor("the other key's signature refused", async () => {
      const reply = (await post("validate", podReview("default", [reference]))).json();
      const message = reply.response.status?.message ?? "";
      return message.includes("no cosign signature") ? undefined : message;
    });
    expect(otherKey).toMatch(
      new RegExp(
        `^trustdock refused 1 image: image ${reference.replace(/\./g, "\\.")} \\(container "app-0"\\): cosign: signature 0 \\(sha256:[0-9a-f]{64}\\): `,
      ),
    );

    await cosignSign(repository, image.digest, cosignKey.privateKey);
    writePolicy();
    const admitted = await waitFor("the policy key's signature admitted", async () => {
      const reply = (await post("mutate", podReview("default", [reference]))).json();
      return reply.response.allowed ? reply : undefined;
    });
    expect(patchOf(admitted)).toEqual([
      {
        op: "replace",
        path: "/spec/containers/0/image",
        value: `${td.hostPort}/${repository}@${image.digest}`,
      },
    ]);
  });

  it("denies an unsigned image, naming it", async () => {
    const unsigned = await pushImage("unsigned", { signed: false });
    const signed = await pushImage("signed");
    const reply = (await post("validate", podReview("default", [signed.image, unsigned.image]))).json();
    expect(reply.response.allowed).toBe(false);
    expect(reply.response.status?.message).toMatch(
      new RegExp(
        `^trustdock refused 1 image: image ${unsigned.image.replace(/[.]/g, "\\.")} \\(container "app-1"\\): not signed`,
      ),
    );
  });

  it("denies a tag moved to another image after it was signed", async () => {
    const signed = await pushImage("moved");
    const moved = await registry.pushImage(signed.repository, "v1", { content: "swapped in after signing" });
    expect(moved.digest).not.toBe(signed.digest);
    const reply = (await post("validate", podReview("default", [signed.image]))).json();
    expect(reply.response.allowed).toBe(false);
    expect(reply.response.status?.message).toContain(
      `tag v1 is ${moved.digest} in the registry but Notary trust data signs ${signed.digest} for it`,
    );
  });

  it("denies, within the deadline, images whose registry refuses connections or never answers", async () => {
    const started = Date.now();
    const review = podReview("default", [
      `127.0.0.1:${closedPort}/library/app:v1`,
      `127.0.0.1:${silentPort}/library/app:v1`,
    ]);
    const reply = (await post("validate", review)).json();
    const elapsed = Date.now() - started;
    expect(reply.response.allowed).toBe(false);
    const message = reply.response.status?.message ?? "";
    expect(message).toContain("trustdock refused 2 images");
    expect(message).toContain(
      `image 127.0.0.1:${closedPort}/library/app:v1 (container "app-0"): 127.0.0.1:${closedPort} is unreachable`,
    );
    expect(message).toMatch(
      new RegExp(
        `127\\.0\\.0\\.1:${silentPort}/library/app:v1 \\(container "app-1"\\): .*(in time|deadline)`,
      ),
    );
    expect(elapsed).toBeGreaterThanOrEqual(DEADLINE_SECONDS * 1000 - 100);
    expect(elapsed).toBeLessThan(DEADLINE_SECONDS * 1000 + 1500);
  });

  it("admits anything in an exempt namespace, and a policy change applies without a restart", async () => {
    const unsigned = await pushImage("exempt", { signed: false });
    const system = (await post("mutate", podReview("kube-system", [unsigned.image]))).json();
    expect(system.response.allowed).toBe(true);
    expect(system.response.patch).toBeUndefined();
    expect((await post("validate", podReview("sandbox", [unsigned.image]))).json().response.allowed).toBe(
      false,
    );

    writePolicy({ exempt: ["kube-system", "sand*"] });
    await waitFor("the changed policy", async () =>
      (await post("validate", podReview("sandbox", [unsigned.image]))).json().response.allowed
        ? true
        : undefined,
    );
    writePolicy();
    await waitFor("the policy restored", async () =>
      (await post("validate", podReview("sandbox", [unsigned.image]))).json().response.allowed
        ? undefined
        : true,
    );
  });

  it("refuses a root of trust replaced after it was trusted on first use", async () => {
    const signed = await pushImage("rotated");
    expect((await post("validate", podReview("default", [signed.image]))).json().response.allowed).toBe(true);
    const wipe = await trustCall(signed.gun)("DELETE", "tuf/");
    expect(wipe.status).toBe(200);
    await TestRepository.create(trustCall(signed.gun), {
      v1: manifestTarget({
        digest: signed.digest,
        size: (await registry.call("GET", `/v2/${signed.repository}/manifests/v1`)).body.length,
      }),
    });
    // No caching, so the next review reads the replaced trust data.
    writeFileSync(
      policyFile,
      readFileSync(policyFile, "utf8").replace("cacheTtlSeconds: 30", "cacheTtlSeconds: 0"),
    );
    await waitFor("the replaced root refused", async () => {
      const reply = (await post("validate", podReview("default", [signed.image]))).json();
      return reply.response.allowed ? undefined : reply.response.status?.message;
    }).then((message) => expect(message).toContain("differs from the pinned root"));
    writePolicy();
  });

  it.each([
    ["a body that is not JSON", "{not json", /malformed AdmissionReview/],
    [
      "another apiVersion",
      { apiVersion: "admission.k8s.io/v1beta1", kind: "AdmissionReview", request: {} },
      /apiVersion must be admission\.k8s\.io\/v1/,
    ],
    [
      "a request without uid",
      { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { kind: {} } },
      /request\.uid/,
    ],
    [
      "containers that are not a list",
      (() => {
        const review = podReview("default", ["nginx:1.27"]);
        (review.request.object.spec as unknown as { containers: unknown }).containers = { image: "nginx" };
        return review;
      })(),
      /containers of the Pod is not a list/,
    ],
  ])("answers %s with a 400 saying what is wrong", async (_what, body, message) => {
    const res = await post("validate", body);
    expect(res.status).toBe(400);
    const reply = JSON.parse(res.body.toString()) as { code: number; message: string };
    expect(reply.code).toBe(400);
    expect(reply.message).toMatch(message);
  });
});
