import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeWithPeer } from "../support/peers.js";
import { certDirTrusting, makeImage, runOk, skopeoAndMkimgExist, skopeoCopy } from "../support/skopeo.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../support/trustdock.js";

const TEST_TIMEOUT_MS = 120_000;

interface Logged {
  method: string;
  url: string;
  status: number;
}

interface OciLayout {
  manifests: Array<{ digest: string }>;
}

interface OciManifest {
  config: { digest: string };
  layers: Array<{ digest: string }>;
}

describeWithPeer(
  "skopeo and ../shared/peers/mkimg.sh",
  skopeoAndMkimgExist(),
  "skopeo against Trustdock's registry",
  () => {
    let td: TestTrustdock;
    let scratch: string;
    let certDir: string;
    const requests: Logged[] = [];

    beforeAll(async () => {
      td = await startTestTrustdock();
      scratch = mkdtempSync(join(tmpdir(), "trustdock-skopeo-"));
      certDir = certDirTrusting(scratch, td.tls.caCert);
      // What the server answered, seen from its HTTP server: which requests carried which bodies.
      td.app.server.on("request", (req: IncomingMessage, res: ServerResponse) => {
        res.on("finish", () =>
          requests.push({ method: req.method ?? "", url: req.url ?? "", status: res.statusCode }),
        );
      });
    });
    afterAll(async () => {
      await td?.close();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    const creds = `admin:${ADMIN_PASSWORD}`;
    const ref = (repo: string, tag: string) => `docker://${td.hostPort}/${repo}:${tag}`;
    const skopeo = (args: string[]) => runOk("skopeo", args);
    const pushFrom = (layout: string, to: string) =>
      skopeoCopy(`oci:${layout}:latest`, to, { creds, certDir });
    const sha256 = (file: string) =>
      `sha256:${createHash("sha256").update(readFileSync(file)).digest("hex")}`;

    /** The manifest, config and layer digests of an OCI layout's `latest`. */
    function layoutDigests(layout: string) {
      const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as OciLayout;
      const manifestDigest = index.manifests[0]?.digest ?? "";
      const blob = (digest: string) => join(layout, "blobs", "sha256", digest.slice("sha256:".length));
      const manifest = JSON.parse(readFileSync(blob(manifestDigest), "utf8")) as OciManifest;
      return {
        manifest: manifestDigest,
        config: manifest.config.digest,
        layers: manifest.layers.map((l) => l.digest),
        layerFile: blob(manifest.layers[0]?.digest ?? ""),
      };
    }

    it(
      "copies an OCI image in and back out unchanged, inspects it and lists its tags",
      async () => {
        const layout = join(scratch, "image");
        const printed = await makeImage(layout, "hello from skopeo");
        const image = layoutDigests(layout);
        expect(printed).toBe(image.manifest);

        await pushFrom(layout, ref("library/skopeo", "v1"));
        await pushFrom(layout, ref("library/skopeo", "v2"));

        const back = join(scratch, "back");
        await skopeoCopy(ref("library/skopeo", "v1"), `oci:${back}:latest`, { creds, certDir });
        const returned = layoutDigests(back);
        expect(returned.manifest).toBe(image.manifest);
        expect(returned.layers).toEqual(image.layers);
        expect(sha256(returned.layerFile)).toBe(image.layers[0]);

        const inspected = JSON.parse(
          await skopeo(["inspect", "--creds", creds, "--cert-dir", certDir, ref("library/skopeo", "v1")]),
        ) as { Digest: string; Layers: string[]; Os: string; Architecture: string };
        expect(inspected.Digest).toBe(image.manifest);
        expect(inspected.Layers).toEqual(image.layers);
        expect([inspected.Os, inspected.Architecture]).toEqual(["linux", "amd64"]);

        const tags = JSON.parse(
          await skopeo([
            "list-tags",
            "--creds",
            creds,
            "--cert-dir",
            certDir,
            `docker://${td.hostPort}/library/skopeo`,
          ]),
        ) as { Tags: string[] };
        expect(tags.Tags).toEqual(["v1", "v2"]);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "deletes an image by reference: its manifest and tags are gone",
      async () => {
        const layout = join(scratch, "doomed");
        await makeImage(layout, "to be deleted");
        const image = layoutDigests(layout);
        await pushFrom(layout, ref("library/doomed", "v1"));

        await skopeo(["delete", "--creds", creds, "--cert-dir", certDir, ref("library/doomed", "v1")]);

        const inspect = skopeo([
          "inspect",
          "--creds",
          creds,
          "--cert-dir",
          certDir,
          ref("library/doomed", "v1"),
        ]);
        await expect(inspect).rejects.toThrow(/manifest unknown/);
        const byDigest = skopeo([
          "inspect",
          "--creds",
          creds,
          "--cert-dir",
          certDir,
          `docker://${td.hostPort}/library/doomed@${image.manifest}`,
        ]);
        await expect(byDigest).rejects.toThrow(/manifest unknown/);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "copies between two repositories by mounting the layer instead of sending it again",
      async () => {
        const layout = join(scratch, "mounted");
        await makeImage(layout, "mount me");
        const image = layoutDigests(layout);
        await pushFrom(layout, ref("library/mount-source", "v1"));
        requests.length = 0;

        await skopeoCopy(ref("library/mount-source", "v1"), ref("library/mount-target", "v1"), {
          creds,
          certDir,
        });

        const toTarget = requests.filter((r) => r.url.startsWith("/v2/library/mount-target/blobs/uploads/"));
        const mounts = toTarget.filter((r) => r.method === "POST" && r.url.includes("mount="));
        const layer = image.layers[0] ?? "";
        expect(mounts.filter((r) => decodeURIComponent(r.url).includes(`mount=${layer}`))).toEqual([
          expect.objectContaining({ status: 201 }),
        ]);
        // The layer's bytes never travelled: the only upload finished is the config's, which skopeo
        // always sends (it never mounts configs).
        const finished = toTarget.filter((r) => r.method === "PUT").map((r) => decodeURIComponent(r.url));
        expect(finished.every((url) => url.endsWith(`digest=${image.config}`))).toBe(true);

        const inspected = JSON.parse(
          await skopeo([
            "inspect",
            "--creds",
            creds,
            "--cert-dir",
            certDir,
            ref("library/mount-target", "v1"),
          ]),
        ) as { Digest: string };
        expect(inspected.Digest).toBe(image.manifest);
      },
      TEST_TIMEOUT_MS,
    );
  },
);
