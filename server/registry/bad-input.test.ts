import { existsSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { describeOnEachDatabase } from "../../test/support/databases.js";
import { waitFor } from "../../test/support/processes.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  MAX_MANIFEST_BYTES,
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

// Input a client should never send, sent: each is refused with the spec's status and code, never a 500,
// and leaves nothing behind (no blob, manifest, tag or repository). The cases the feature tests already
// prove (blob-uploads, blobs, manifests .test.ts) are not repeated here; these are the rest.

const ADMIN_BASIC = basicAuth("admin", ADMIN_PASSWORD);
const OCTETS = { "content-type": "application/octet-stream" };

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describeOnEachDatabase("registry bad input", (databases) => {
  const suite = trustdockForSuite(databases);
  let td: TestTrustdock;
  let registry: RegistryClient;

  beforeAll(() => {
    td = suite.td;
    registry = registryClient(td.app, ADMIN_BASIC);
  });

  const blobFile = (digest: string) => {
    const hex = digest.slice("sha256:".length);
    return join(td.dataDir, "blobs", "sha256", hex.slice(0, 2), hex);
  };
  const uploadFiles = () => readdirSync(join(td.dataDir, "blobs", "uploads")).sort();

  /** A registry refusal: `status`, one error of `code` in the spec's body. */
  function expectRefusal(what: string, status: number, body: string, want: [number, string]) {
    const code = (JSON.parse(body) as { errors: Array<{ code: string }> }).errors[0]?.code;
    expect([what, status, code]).toEqual([what, ...want]);
  }
  const refused = (what: string, res: RegistryReply, want: [number, string]) =>
    expectRefusal(what, res.status, res.body.toString(), want);

  async function catalog(): Promise<string[]> {
    return (await registry.call("GET", "/v2/_catalog?n=10000")).json<{ repositories: string[] }>()
      .repositories;
  }

  async function tags(repo: string): Promise<string[]> {
    const res = await registry.call("GET", `/v2/${repo}/tags/list`);
    return res.status === 404 ? [] : res.json<{ tags: string[] }>().tags;
  }

  /** One request over a real connection with `path` sent as it is (no URL normalisation of `..`). */
  function raw(
    method: string,
    path: string,
    opts: { headers?: Record<string, string>; body?: Buffer | string } = {},
  ): Promise<RawReply> {
    const url = new URL(td.url);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path,
          method,
          ca: readFileSync(td.tls.caCert),
          headers: { authorization: ADMIN_BASIC, ...opts.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
        },
      );
      req.on("error", reject);
      req.end(opts.body);
    });
  }

  /** Announces all of `body`, sends `sent` bytes of it, then drops the connection. */
  async function sendPartAndHangUp(method: string, path: string, body: Buffer, sent: number): Promise<void> {
    const req = request(`${td.url}${path}`, {
      method,
      ca: readFileSync(td.tls.caCert),
      headers: { authorization: ADMIN_BASIC, ...OCTETS, "content-length": String(body.length) },
    });
    req.on("error", () => {});
    await new Promise<void>((resolve) => req.write(body.subarray(0, sent), () => resolve()));
    await new Promise((r) => setTimeout(r, 100));
    req.destroy();
  }

  async function startUpload(repo: string): Promise<string> {
    const res = await registry.call("POST", `/v2/${repo}/blobs/uploads/`);
    expect(res.status).toBe(202);
    return String(res.headers.location);
  }

  it("refuses invalid repository names on every endpoint with NAME_INVALID, creating nothing", async () => {
    const before = await catalog();
    const image = await registry.pushImage(uniqueRepository("valid"), "v1");
    const blob = Buffer.from("a blob for an invalid name");
    const names = [
      "library/UPPER",
      "UPPER/app",
      "library//app",
      "library/../app",
      "library/..",
      "..",
      "library/./app",
      `library/${"a".repeat(292)}`,
      "library/app/",
    ];
    for (const name of names) {
      const requests: Array<[string, string, { headers?: Record<string, string>; body?: Buffer }]> = [
        ["GET", `/v2/${name}/tags/list`, {}],
        ["GET", `/v2/${name}/manifests/v1`, {}],
        ["HEAD", `/v2/${name}/manifests/v1`, {}],
        ["PUT", `/v2/${name}/manifests/v1`, { headers: { "content-type": OCI_MANIFEST }, body: image.bytes }],
        ["DELETE", `/v2/${name}/manifests/${image.digest}`, {}],
        ["GET", `/v2/${name}/blobs/${sha256(blob)}`, {}],
        ["POST", `/v2/${name}/blobs/uploads/?digest=${sha256(blob)}`, { headers: OCTETS, body: blob }],
        ["POST", `/v2/${name}/blobs/uploads/`, {}],
        ["GET", `/v2/${name}/referrers/${image.digest}`, {}],
      ];
      for (const [method, path, opts] of requests) {
        const res = await raw(method, path, opts);
        // A HEAD has no body to read a code from; its status says as much.
        if (method === "HEAD") expect([path, res.status]).toEqual([path, 400]);
        else expectRefusal(`${method} ${path}`, res.status, res.body, [400, "NAME_INVALID"]);
      }
    }
    expect(existsSync(blobFile(sha256(blob)))).toBe(false);
    expect((await catalog()).filter((repo) => !before.includes(repo))).toEqual([
      expect.stringMatching(/^library\/valid-\d+$/),
    ]);
  });

  it("refuses a last chunk whose digest does not match, and a digest given twice, storing nothing", async () => {
    const repo = uniqueRepository("wrong-digest");
    const uploadsBefore = uploadFiles();
    const bytes = Buffer.from("0123456789abcdefghij");
    const wrong = sha256("not these bytes");

    const location = await startUpload(repo);
    await registry.call("PATCH", location, { headers: OCTETS, body: bytes.subarray(0, 10) });
    const finished = await registry.call("PUT", `${location}?digest=${wrong}`, {
      headers: OCTETS,
      body: bytes.subarray(10),
    });
    refused("last chunk, wrong digest", finished, [400, "DIGEST_INVALID"]);

    const sha512 = `sha512:${"0".repeat(128)}`;
    const twice = await registry.call(
      "POST",
      `/v2/${repo}/blobs/uploads/?digest=${sha256(bytes)}&digest=${wrong}`,
      { headers: OCTETS, body: bytes },
    );
    refused("two digests", twice, [400, "DIGEST_INVALID"]);
    const other = await registry.call("POST", `/v2/${repo}/blobs/uploads/?digest=${sha512}`, {
      headers: OCTETS,
      body: bytes,
    });
    refused("a sha512 digest of other bytes", other, [400, "DIGEST_INVALID"]);

    for (const digest of [wrong, sha256(bytes), sha512]) {
      expect([digest, (await registry.call("HEAD", `/v2/${repo}/blobs/${digest}`)).status]).toEqual([
        digest,
        404,
      ]);
    }
    expect(existsSync(blobFile(sha256(bytes)))).toBe(false);
    expect(existsSync(blobFile(wrong))).toBe(false);
    expect(uploadFiles()).toEqual(uploadsBefore);
  });

  it("keeps an upload at its real offset when the last chunk's connection drops, and finishes it after", async () => {
    const repo = uniqueRepository("cut-last-chunk");
    const whole = Buffer.alloc(1024 * 1024, 9);
    whole.write("head of the blob");
    const location = await startUpload(repo);
    await registry.call("PATCH", location, { headers: OCTETS, body: whole.subarray(0, 1000) });
    const tail = whole.subarray(1000);

    await sendPartAndHangUp("PUT", `${location}?digest=${sha256(whole)}`, tail, tail.length / 2);

    // The server saw the hang-up: nothing was stored, and the session says where it really stands.
    await waitFor("the cut-off last chunk to be dropped", async () => {
      const status = await registry.call("GET", location);
      return status.status === 204 && status.headers.range === "0-999" ? true : undefined;
    });
    expect((await registry.call("HEAD", `/v2/${repo}/blobs/${sha256(whole)}`)).status).toBe(404);
    expect(existsSync(blobFile(sha256(whole)))).toBe(false);

    const retried = await registry.call("PUT", `${location}?digest=${sha256(whole)}`, {
      headers: { ...OCTETS, "content-range": `1000-${whole.length - 1}` },
      body: tail,
    });
    expect(retried.status).toBe(201);
    // Buffer.equals: jest's deep equality takes half a minute over a MiB.
    expect((await registry.call("GET", `/v2/${repo}/blobs/${sha256(whole)}`)).body.equals(whole)).toBe(true);
  });

  it("stores nothing of a manifest whose connection drops before its length", async () => {
    const repo = uniqueRepository("cut-manifest");
    const config = await registry.pushBlob(repo, "{}", "application/vnd.oci.image.config.v1+json");
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] }),
    );
    await sendPartAndHangUp("PUT", `/v2/${repo}/manifests/cut`, bytes, bytes.length - 5);

    // Whatever the server made of it, nothing is there now nor later.
    await new Promise((r) => setTimeout(r, 300));
    expect((await registry.call("HEAD", `/v2/${repo}/manifests/cut`)).status).toBe(404);
    expect((await registry.call("HEAD", `/v2/${repo}/manifests/${sha256(bytes)}`)).status).toBe(404);
    expect(await tags(repo)).toEqual([]);
  });

  it("refuses a last chunk whose Content-Range overlaps or skips with 416 and the Range, keeping the upload", async () => {
    const repo = uniqueRepository("last-chunk-range");
    const bytes = Buffer.from("0123456789");
    const location = await startUpload(repo);
    await registry.call("PATCH", location, { headers: { ...OCTETS, "content-range": "0-4" }, body: "01234" });

    for (const range of ["3-7", "0-4", "7-11", "bytes=x-y"]) {
      const res = await registry.call("PUT", `${location}?digest=${sha256(bytes)}`, {
        headers: { ...OCTETS, "content-range": range },
        body: "56789",
      });
      refused(`PUT Content-Range ${range}`, res, [416, "BLOB_UPLOAD_INVALID"]);
      expect([range, res.headers.range, res.headers.location]).toEqual([range, "0-4", location]);
    }
    expect((await registry.call("HEAD", `/v2/${repo}/blobs/${sha256(bytes)}`)).status).toBe(404);
    expect((await registry.call("GET", location)).headers.range).toBe("0-4");
    const done = await registry.call("PUT", `${location}?digest=${sha256(bytes)}`, {
      headers: { ...OCTETS, "content-range": "5-9" },
      body: "56789",
    });
    expect(done.status).toBe(201);
  });

  it("refuses manifests naming a missing config or missing list entries with MANIFEST_BLOB_UNKNOWN", async () => {
    const repo = uniqueRepository("missing-config");
    const layer = await registry.pushBlob(
      repo,
      "present layer",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
    );
    const config = {
      mediaType: "application/vnd.docker.container.image.v1+json",
      digest: sha256("config nobody pushed"),
      size: 20,
    };
    const image = await registry.pushManifest(
      repo,
      "no-config",
      { schemaVersion: 2, mediaType: DOCKER_MANIFEST, config, layers: [layer] },
      DOCKER_MANIFEST,
    );
    refused("missing config", image.reply, [400, "MANIFEST_BLOB_UNKNOWN"]);
    expect(image.reply.json().errors[0]?.detail).toEqual({ digest: config.digest });

    const list = await registry.pushManifest(
      repo,
      "no-children",
      {
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST_LIST,
        manifests: [
          {
            mediaType: DOCKER_MANIFEST,
            digest: sha256("nobody's image"),
            size: 10,
            platform: { architecture: "amd64", os: "linux" },
          },
        ],
      },
      DOCKER_MANIFEST_LIST,
    );
    refused("missing list entry", list.reply, [400, "MANIFEST_BLOB_UNKNOWN"]);
    for (const pushed of [image, list]) {
      expect((await registry.call("HEAD", `/v2/${repo}/manifests/${pushed.digest}`)).status).toBe(404);
    }
    expect(await tags(repo)).toEqual([]);
  });

  it("takes a manifest of exactly 4 MiB and refuses one byte more, even sent without a length", async () => {
    const repo = uniqueRepository("limit");
    const config = await registry.pushBlob(repo, "{}", "application/vnd.oci.image.config.v1+json");
    const sized = (size: number) => {
      const shell = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config,
        layers: [],
        annotations: { p: "" },
      });
      const padded = shell.replace('"p":""', `"p":"${"x".repeat(size - shell.length)}"`);
      expect(padded.length).toBe(size);
      return Buffer.from(padded);
    };
    const atLimit = sized(MAX_MANIFEST_BYTES);
    const over = sized(MAX_MANIFEST_BYTES + 1);

    // Node sends a body of unannounced length chunked: the server learns the size only by reading.
    const chunked = await raw("PUT", `/v2/${repo}/manifests/over`, {
      headers: { "content-type": OCI_MANIFEST, "transfer-encoding": "chunked" },
      body: over,
    });
    expectRefusal("chunked, one byte over", chunked.status, chunked.body, [413, "MANIFEST_INVALID"]);
    expect((await registry.call("HEAD", `/v2/${repo}/manifests/${sha256(over)}`)).status).toBe(404);

    const fits = await registry.call("PUT", `/v2/${repo}/manifests/fits`, {
      headers: { "content-type": OCI_MANIFEST },
      body: atLimit,
    });
    expect(fits.status).toBe(201);
    expect(await tags(repo)).toEqual(["fits"]);
  });

  it("refuses a push under a tag outside the grammar with TAG_INVALID, storing neither tag nor manifest", async () => {
    const repo = uniqueRepository("bad-tags");
    const config = await registry.pushBlob(repo, "{}", "application/vnd.oci.image.config.v1+json");
    const body = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] }),
    );
    for (const tag of [
      "-dash",
      ".dot",
      "a".repeat(129),
      "t%3Acolon",
      "t%40at",
      "t%20space",

      "t%00nul",
      "t%C3%A9",
    ]) {
      const res = await raw("PUT", `/v2/${repo}/manifests/${tag}`, {
        headers: { "content-type": OCI_MANIFEST },
        body,
      });
      // A reference with a colon is a digest, and this one is no digest.
      const code = tag.includes("%3A") ? "DIGEST_INVALID" : "TAG_INVALID";
      expectRefusal(`PUT tag ${tag}`, res.status, res.body, [400, code]);
    }
    expect((await registry.call("HEAD", `/v2/${repo}/manifests/${sha256(body)}`)).status).toBe(404);
    expect(await tags(repo)).toEqual([]);
  });

  it("answers odd query parameters, headers and bodies without a 500, errors in the spec's body", async () => {
    const repo = uniqueRepository("odd");
    const blob = await registry.pushBlob(repo, "odd blob");
    const image = await registry.pushImage(repo, "v1");
    const location = await startUpload(repo);
    const cases: Array<[string, string, { headers?: Record<string, string>; body?: string }]> = [
      ["POST", `/v2/${repo}/blobs/uploads/?mount=sha256:nothex&from=${repo}`, {}],
      ["POST", `/v2/${repo}/blobs/uploads/?mount=${blob.digest}&from=NOT/VALID`, {}],
      ["POST", `/v2/${repo}/blobs/uploads/?mount=${blob.digest}&mount=${sha256("x")}&from=${repo}`, {}],
      ["GET", `/v2/${repo}/blobs/${blob.digest}`, { headers: { range: "bytes=zz-" } }],
      ["GET", `/v2/${repo}/blobs/${blob.digest}`, { headers: { range: "bytes=99999999999999999999-" } }],
      ["PATCH", location, { headers: { ...OCTETS, "content-range": "99999999999999999999-1" }, body: "x" }],
      ["PUT", `${location}?digest=${sha256("x")}&digest=${sha256("y")}`, {}],
      ["GET", `/v2/${repo}/tags/list?n=1&n=2`, {}],
      ["GET", `/v2/${repo}/tags/list?n=-1`, {}],
      ["GET", `/v2/${repo}/tags/list?last=%00`, {}],
      ["GET", `/v2/${repo}/referrers/${image.digest}?artifactType=%00`, {}],
      ["GET", `/v2/${repo}/manifests/${"sha256:".padEnd(71, "A")}`, {}],
      ["PUT", `/v2/${repo}/manifests/empty`, { headers: { "content-type": OCI_MANIFEST }, body: "" }],
      ["PUT", `/v2/${repo}/manifests/null`, { headers: { "content-type": OCI_MANIFEST }, body: "null" }],
      [
        "PUT",
        `/v2/${repo}/manifests/deep`,
        { headers: { "content-type": OCI_MANIFEST }, body: `${"[".repeat(100000)}${"]".repeat(100000)}` },
      ],
      ["PUT", `/v2/${repo}/manifests/utf16`, { headers: { "content-type": OCI_MANIFEST }, body: "\ufeff{}" }],
      ["GET", `/v2/${repo}/blobs/uploads/${"z".repeat(5000)}`, {}],
      ["DELETE", `/v2/${repo}/manifests/v1`, { headers: { authorization: "Bearer not.a.token" } }],
      ["GET", `/v2/${repo}/manifests/v1`, { headers: { authorization: "Basic %%%" } }],
    ];
    for (const [method, path, opts] of cases) {
      const res = await raw(method, path, opts);
      const what = `${method} ${path.slice(0, 120)} ${JSON.stringify(opts.headers ?? {})}`;
      expect([what, res.status < 500]).toEqual([what, true]);
      // Some are no errors at all: a mount that cannot be made is an upload, a Range not taken is ignored.
      if (res.status >= 400 && res.status !== 416) {
        const body = JSON.parse(res.body) as { errors: Array<{ code: string; message: string }> };
        expect([what, typeof body.errors[0]?.code]).toEqual([what, "string"]);
      }
    }
    expect(await tags(repo)).toEqual(["v1"]);
    expect((await registry.call("GET", `/v2/${repo}/manifests/v1`)).status).toBe(200);
  });
});
