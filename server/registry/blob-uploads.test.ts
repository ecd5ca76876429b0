import { existsSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { describeOnEachDatabase } from "../../test/support/databases.js";
import { waitFor } from "../../test/support/processes.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";
import { buildServer } from "../app.js";
import type { TrustSigner } from "../trust/trust-service.js";
import {
  basicAuth,
  type RegistryClient,
  type RegistryReply,
  registryClient,
  sha256,
  uniqueRepository,
} from "./testing/registry-client.js";

const ADMIN_BASIC = basicAuth("admin", ADMIN_PASSWORD);

const OCTETS = { "content-type": "application/octet-stream" };

describeOnEachDatabase("registry blob uploads", (databases) => {
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
  const uploadFiles = () => readdirSync(join(td.dataDir, "blobs", "uploads"));
  const code = (res: RegistryReply) => res.json().errors[0]?.code;

  async function startUpload(repo: string): Promise<string> {
    const res = await registry.call("POST", `/v2/${repo}/blobs/uploads/`);
    expect(res.status).toBe(202);
    return String(res.headers.location);
  }

  /** Nothing of the blob is served, stored as a file, or left over as an upload. */
  async function expectNothingStored(repo: string, digest: string, uploadsBefore: string[]): Promise<void> {
    expect((await registry.call("HEAD", `/v2/${repo}/blobs/${digest}`)).status).toBe(404);
    expect(existsSync(blobFile(digest))).toBe(false);
    expect(uploadFiles().sort()).toEqual(uploadsBefore.sort());
  }

  it("stores a monolithic POST ?digest= push and serves it back", async () => {
    const repo = uniqueRepository("monolithic");
    const bytes = Buffer.from("a whole blob in one request");
    const digest = sha256(bytes);

    const put = await registry.call("POST", `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      headers: OCTETS,
      body: bytes,
    });
    expect(put.status).toBe(201);
    expect(put.headers.location).toBe(`/v2/${repo}/blobs/${digest}`);
    expect(put.headers["docker-content-digest"]).toBe(digest);
    expect(put.headers["docker-distribution-api-version"]).toBe("registry/2.0");

    const get = await registry.call("GET", `/v2/${repo}/blobs/${digest}`);
    expect(get.status).toBe(200);
    expect(get.body).toEqual(bytes);
    expect(readFileSync(blobFile(digest))).toEqual(bytes);
  });

  it("starts a session with 202, Location, Docker-Upload-UUID and Range 0-0, then takes the blob in a PUT", async () => {
    const repo = uniqueRepository("post-put");
    const start = await registry.call("POST", `/v2/${repo}/blobs/uploads/`);
    expect(start.status).toBe(202);
    const location = String(start.headers.location);
    expect(location).toMatch(new RegExp(`^/v2/${repo}/blobs/uploads/[0-9a-f-]{36}$`));
    expect(start.headers["docker-upload-uuid"]).toBe(location.split("/").pop());
    expect(start.headers.range).toBe("0-0");

    const bytes = Buffer.from("pushed with POST then PUT");
    const digest = sha256(bytes);
    const put = await registry.call("PUT", `${location}?digest=${digest}`, { headers: OCTETS, body: bytes });
    expect(put.status).toBe(201);
    expect(put.headers["docker-content-digest"]).toBe(digest);
    expect((await registry.call("GET", `/v2/${repo}/blobs/${digest}`)).body).toEqual(bytes);
    // The session is over.
    expect((await registry.call("GET", location)).status).toBe(404);
  });

  it("takes chunks in order with Content-Range, reports progress, and finishes with an empty PUT", async () => {
    const repo = uniqueRepository("chunked");
    const location = await startUpload(repo);
    const bytes = Buffer.from("0123456789abcdefghij");
    const digest = sha256(bytes);

    const first = await registry.call("PATCH", location, {
      headers: { ...OCTETS, "content-range": "0-9" },
      body: bytes.subarray(0, 10),
    });
    expect(first.status).toBe(202);
    expect(first.headers.range).toBe("0-9");
    expect(first.headers.location).toBe(location);

    const status = await registry.call("GET", location);
    expect(status.status).toBe(204);
    expect(status.headers.range).toBe("0-9");
    expect(status.headers.location).toBe(location);

    const second = await registry.call("PATCH", location, {
      headers: { ...OCTETS, "content-range": "10-19" },
      body: bytes.subarray(10),
    });
    expect(second.headers.range).toBe("0-19");

    const put = await registry.call("PUT", `${location}?digest=${digest}`);
    expect(put.status).toBe(201);
    expect((await registry.call("GET", `/v2/${repo}/blobs/${digest}`)).body).toEqual(bytes);
  });

  it("appends a PATCH without Content-Range (docker's streamed push) and a last chunk sent with the PUT", async () => {
    const repo = uniqueRepository("streamed");
    const location = await startUpload(repo);
    const bytes = Buffer.from("streamed without ranges, and a tail");
    const digest = sha256(bytes);

    const patch = await registry.call("PATCH", location, { headers: OCTETS, body: bytes.subarray(0, 20) });
    expect(patch.status).toBe(202);
    expect(patch.headers.range).toBe("0-19");
    const put = await registry.call("PUT", `${location}?digest=${digest}`, {
      headers: { ...OCTETS, "content-range": `20-${bytes.length - 1}` },
      body: bytes.subarray(20),
    });
    expect(put.status).toBe(201);
    expect((await registry.call("GET", `/v2/${repo}/blobs/${digest}`)).body).toEqual(bytes);
  });

  it("refuses out-of-order, overlapping and malformed chunks with 416 and where the upload stands", async () => {
    const repo = uniqueRepository("bad-range");
    const location = await startUpload(repo);
    await registry.call("PATCH", location, { headers: { ...OCTETS, "content-range": "0-4" }, body: "01234" });

    for (const range of ["10-14", "3-7", "0-4", "five-nine", "9-5"]) {
      const res = await registry.call("PATCH", location, {
        headers: { ...OCTETS, "content-range": range },
        body: "56789",
      });
      expect([range, res.status]).toEqual([range, 416]);
      expect(res.headers.range).toBe("0-4");
      expect(res.headers.location).toBe(location);
      expect(code(res)).toBe("BLOB_UPLOAD_INVALID");
    }
    // A range whose length is not the body's cannot be honoured either.
    const mislabelled = await registry.call("PATCH", location, {
      headers: { ...OCTETS, "content-range": "5-6" },
      body: "56789",
    });
    expect(mislabelled.status).toBe(416);

    // None of the refused chunks counted: the right one still fits.
    const next = await registry.call("PATCH", location, {
      headers: { ...OCTETS, "content-range": "5-9" },
      body: "56789",
    });
    expect(next.status).toBe(202);
    expect(next.headers.range).toBe("0-9");
    const done = await registry.call("PUT", `${location}?digest=${sha256("0123456789")}`);
    expect(done.status).toBe(201);
  });

  it("refuses a digest that does not match with DIGEST_INVALID and stores nothing", async () => {
    const repo = uniqueRepository("mismatch");
    const before = uploadFiles();
    const claimed = sha256("what the client says it sends");

    const monolithic = await registry.call("POST", `/v2/${repo}/blobs/uploads/?digest=${claimed}`, {
      headers: OCTETS,
      body: "something else entirely",
    });
    expect(monolithic.status).toBe(400);
    expect(code(monolithic)).toBe("DIGEST_INVALID");
    await expectNothingStored(repo, claimed, before);

    const location = await startUpload(repo);
    await registry.call("PATCH", location, { headers: OCTETS, body: "chunked, but not that" });
    const finished = await registry.call("PUT", `${location}?digest=${claimed}`);
    expect(finished.status).toBe(400);
    expect(code(finished)).toBe("DIGEST_INVALID");
    await expectNothingStored(repo, claimed, before);
    // A refused upload is over.
    expect((await registry.call("GET", location)).status).toBe(404);
  });

  it("refuses to finish without a digest, or with one that is malformed, keeping the upload", async () => {
    const repo = uniqueRepository("no-digest");
    const location = await startUpload(repo);
    await registry.call("PATCH", location, { headers: OCTETS, body: "kept" });

    for (const query of ["", "?digest=sha256:nothex", "?digest=md5:0123"]) {
      const res = await registry.call("PUT", `${location}${query}`);
      expect([query, res.status, code(res)]).toEqual([query, 400, "DIGEST_INVALID"]);
    }
    const status = await registry.call("GET", location);
    expect(status.status).toBe(204);
    expect(status.headers.range).toBe("0-3");
  });

  it("cancels an upload with DELETE: 204, then the session and its data are gone", async () => {
    const repo = uniqueRepository("cancel");
    const before = uploadFiles();
    const location = await startUpload(repo);
    await registry.call("PATCH", location, { headers: OCTETS, body: "to be dropped" });
    expect(uploadFiles().length).toBe(before.length + 1);

    expect((await registry.call("DELETE", location)).status).toBe(204);
    expect(uploadFiles().sort()).toEqual(before.sort());
    const again = await registry.call("DELETE", location);
    expect(again.status).toBe(404);
    expect(code(again)).toBe("BLOB_UPLOAD_UNKNOWN");
  });

  it("answers BLOB_UPLOAD_UNKNOWN for sessions that do not exist or belong to another repository", async () => {
    const repo = uniqueRepository("unknown-session");
    const location = await startUpload(repo);
    const id = location.split("/").pop();
    const other = uniqueRepository("other");
    for (const path of [
      `/v2/${repo}/blobs/uploads/00000000-0000-4000-8000-000000000000`,
      `/v2/${repo}/blobs/uploads/not-a-session`,
      `/v2/${other}/blobs/uploads/${id}`,
    ]) {
      for (const method of ["GET", "PATCH", "PUT", "DELETE"]) {
        const res = await registry.call(method, method === "PUT" ? `${path}?digest=${sha256("")}` : path, {
          headers: OCTETS,
          body: "x",
        });
        expect([method, path, res.status, code(res)]).toEqual([method, path, 404, "BLOB_UPLOAD_UNKNOWN"]);
      }
    }
    // The real session was not touched by any of that.
    expect((await registry.call("GET", location)).headers.range).toBe("0-0");
  });

  it("mounts a blob from another repository with 201, without an upload", async () => {
    const source = uniqueRepository("mount-source");
    const target = uniqueRepository("mount-target");
    const blob = await registry.pushBlob(source, "shared layer");
    const before = uploadFiles();

    const res = await registry.call(
      "POST",
      `/v2/${target}/blobs/uploads/?mount=${blob.digest}&from=${source}`,
    );
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/v2/${target}/blobs/${blob.digest}`);
    expect(res.headers["docker-content-digest"]).toBe(blob.digest);
    expect((await registry.call("GET", `/v2/${target}/blobs/${blob.digest}`)).body.toString()).toBe(
      "shared layer",
    );
    expect(uploadFiles()).toEqual(before);
  });

  it("falls back to a 202 upload when the source lacks the blob or the caller may not read it", async () => {
    const source = uniqueRepository("mount-source");
    const target = uniqueRepository("mount-target");
    const blob = await registry.pushBlob(source, "guarded layer");

    const missing = await registry.call(
      "POST",
      `/v2/${target}/blobs/uploads/?mount=${sha256("not there")}&from=${source}`,
    );
    expect(missing.status).toBe(202);
    expect(String(missing.headers.location)).toMatch(/\/blobs\/uploads\/[0-9a-f-]{36}$/);

    // A token for the target alone: the caller cannot prove it may pull from the source.
    const token = await tokenFor(`repository:${target}:pull,push`);
    const unauthorized = await registry.call(
      "POST",
      `/v2/${target}/blobs/uploads/?mount=${blob.digest}&from=${source}`,
      { auth: `Bearer ${token}` },
    );
    expect(unauthorized.status).toBe(202);
    expect((await registry.call("HEAD", `/v2/${target}/blobs/${blob.digest}`)).status).toBe(404);
  });

  it("counts nothing of a body the client cut off, and stores no blob from it", async () => {
    const repo = uniqueRepository("cut-off");
    const before = uploadFiles();
    const location = await startUpload(repo);
    const whole = Buffer.alloc(1024 * 1024, 7);
    await sendHalfAndHangUp("PATCH", location, whole);
    await sendHalfAndHangUp("POST", `/v2/${repo}/blobs/uploads/?digest=${sha256(whole)}`, whole);

    // The server noticed both hang-ups: the session is where it was, and the monolithic push left nothing.
    await waitFor("the cut-off bodies to be dropped", async () =>
      uploadFiles().length === before.length + 1 ? true : undefined,
    );
    const status = await registry.call("GET", location);
    expect(status.headers.range).toBe("0-0");
    await expectNothingStored(repo, sha256(whole), [...before, String(location.split("/").pop())]);
    // And it still takes the whole thing afterwards.
    const put = await registry.call("PUT", `${location}?digest=${sha256(whole)}`, {
      headers: OCTETS,
      body: whole,
    });
    expect(put.status).toBe(201);
  });

  it("lets another server process on the same database and blob folder continue and finish an upload", async () => {
    const second = await secondServer();
    try {
      const repo = uniqueRepository("two-processes");
      const location = await startUpload(repo);
      const bytes = Buffer.from("half here, half there");
      await registry.call("PATCH", location, { headers: OCTETS, body: bytes.subarray(0, 10) });

      const other = registryClient(second, ADMIN_BASIC);
      expect((await other.call("GET", location)).headers.range).toBe("0-9");
      const patched = await other.call("PATCH", location, { headers: OCTETS, body: bytes.subarray(10) });
      expect(patched.headers.range).toBe(`0-${bytes.length - 1}`);

      expect((await registry.call("PUT", `${location}?digest=${sha256(bytes)}`)).status).toBe(201);
      expect((await other.call("GET", `/v2/${repo}/blobs/${sha256(bytes)}`)).body).toEqual(bytes);
    } finally {
      await second.close();
    }
  });

  /** Announces all of `body`, sends half over a real connection, then drops the connection. */
  async function sendHalfAndHangUp(method: string, path: string, body: Buffer): Promise<void> {
    const req = request(`${td.url}${path}`, {
      method,
      ca: readFileSync(td.tls.caCert),
      headers: { authorization: ADMIN_BASIC, ...OCTETS, "content-length": String(body.length) },
    });
    req.on("error", () => {});
    await new Promise<void>((resolve) => req.write(body.subarray(0, body.length / 2), () => resolve()));
    await new Promise((r) => setTimeout(r, 100));
    req.destroy();
  }

  async function tokenFor(scope: string): Promise<string> {
    const res = await registry.call(
      "GET",
      `/service/token?service=trustdock&scope=${encodeURIComponent(scope)}`,
    );
    return res.json<{ token: string }>().token;
  }

  /** Another server on the suite's database and blob folder, as a second `trustdock server` would be. */
  async function secondServer(): Promise<FastifyInstance> {
    const unusedSigner: TrustSigner = {
      createKey: () => Promise.reject(new Error("the registry never signs")),
      sign: () => Promise.reject(new Error("the registry never signs")),
    };
    const app = await buildServer({ db: td.db, signer: unusedSigner, blobDir: join(td.dataDir, "blobs") });
    await app.ready();
    return app;
  }
});
