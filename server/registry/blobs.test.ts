import { describeOnEachDatabase } from "../../test/support/databases.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";
import {
  basicAuth,
  type RegistryClient,
  type RegistryReply,
  registryClient,
  sha256,
  uniqueRepository,
} from "./testing/registry-client.js";

const ADMIN_BASIC = basicAuth("admin", ADMIN_PASSWORD);

describeOnEachDatabase("registry blob reads and deletes", (databases) => {
  const suite = trustdockForSuite(databases);
  let td: TestTrustdock;
  let registry: RegistryClient;

  beforeAll(() => {
    td = suite.td;
    registry = registryClient(td.app, ADMIN_BASIC);
  });

  const code = (res: RegistryReply) => res.json().errors[0]?.code;
  const CONTENT = "0123456789abcdefghijklmnopqrstuvwxyz";

  it("answers HEAD with the length and digest and no body", async () => {
    const repo = uniqueRepository("head");
    const blob = await registry.pushBlob(repo, CONTENT);
    const res = await registry.call("HEAD", `/v2/${repo}/blobs/${blob.digest}`);
    expect(res.status).toBe(200);
    expect(res.headers["content-length"]).toBe(String(CONTENT.length));
    expect(res.headers["docker-content-digest"]).toBe(blob.digest);
    expect(res.headers.etag).toBe(`"${blob.digest}"`);
    expect(res.headers["docker-distribution-api-version"]).toBe("registry/2.0");
    expect(res.body.length).toBe(0);
  });

  it("serves byte ranges with 206 and Content-Range", async () => {
    const repo = uniqueRepository("range");
    const blob = await registry.pushBlob(repo, CONTENT);
    const path = `/v2/${repo}/blobs/${blob.digest}`;
    const cases: Array<[string, string, string]> = [
      ["bytes=0-9", "0123456789", "bytes 0-9/36"],
      ["bytes=30-", "uvwxyz", "bytes 30-35/36"],
      ["bytes=-4", "wxyz", "bytes 32-35/36"],
      ["bytes=34-100", "yz", "bytes 34-35/36"],
    ];
    for (const [range, body, contentRange] of cases) {
      const res = await registry.call("GET", path, { headers: { range } });
      expect([range, res.status, res.body.toString(), res.headers["content-range"]]).toEqual([
        range,
        206,
        body,
        contentRange,
      ]);
      expect(res.headers["content-length"]).toBe(String(body.length));
    }
  });

  it("refuses a range outside the blob with 416 and the blob's size", async () => {
    const repo = uniqueRepository("range-416");
    const blob = await registry.pushBlob(repo, CONTENT);
    const res = await registry.call("GET", `/v2/${repo}/blobs/${blob.digest}`, {
      headers: { range: "bytes=36-40" },
    });
    expect(res.status).toBe(416);
    expect(res.headers["content-range"]).toBe("bytes */36");
  });

  it("serves the whole blob for a Range it does not take (several ranges)", async () => {
    const repo = uniqueRepository("multi-range");
    const blob = await registry.pushBlob(repo, CONTENT);
    const res = await registry.call("GET", `/v2/${repo}/blobs/${blob.digest}`, {
      headers: { range: "bytes=0-1,4-5" },
    });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(CONTENT);
  });

  it("answers BLOB_UNKNOWN for a blob the repository does not hold, even if another one does", async () => {
    const holder = uniqueRepository("holder");
    const stranger = uniqueRepository("stranger");
    const blob = await registry.pushBlob(holder, "held elsewhere");
    for (const method of ["GET", "HEAD"]) {
      const res = await registry.call(method, `/v2/${stranger}/blobs/${blob.digest}`);
      expect(res.status).toBe(404);
      if (method === "GET") expect(code(res)).toBe("BLOB_UNKNOWN");
    }
    const never = await registry.call("GET", `/v2/${holder}/blobs/${sha256("never pushed")}`);
    expect(never.status).toBe(404);
    expect(code(never)).toBe("BLOB_UNKNOWN");
  });

  it("deletes a blob from a repository with 202, leaving other repositories' links", async () => {
    const repo = uniqueRepository("delete");
    const other = uniqueRepository("keeps");
    const blob = await registry.pushBlob(repo, "short-lived");
    await registry.pushBlob(other, "short-lived");

    expect((await registry.call("DELETE", `/v2/${repo}/blobs/${blob.digest}`)).status).toBe(202);
    expect((await registry.call("HEAD", `/v2/${repo}/blobs/${blob.digest}`)).status).toBe(404);
    expect((await registry.call("HEAD", `/v2/${other}/blobs/${blob.digest}`)).status).toBe(200);
    const again = await registry.call("DELETE", `/v2/${repo}/blobs/${blob.digest}`);
    expect(again.status).toBe(404);
    expect(code(again)).toBe("BLOB_UNKNOWN");
  });

  it("refuses malformed digests with DIGEST_INVALID", async () => {
    const repo = uniqueRepository("bad-digest");
    for (const digest of ["sha256:xyz", "sha256:ABCDEF", "md5:d41d8cd98f00b204e9800998ecf8427e", "latest"]) {
      const res = await registry.call("GET", `/v2/${repo}/blobs/${digest}`);
      expect([digest, res.status, code(res)]).toEqual([digest, 400, "DIGEST_INVALID"]);
    }
  });

  it("refuses names outside the spec's grammar, and over 255 characters, with NAME_INVALID", async () => {
    const digest = sha256("x");
    const long = `library/${"a".repeat(250)}`;
    for (const name of ["Library/App", "library/-app", "library//app", "library/app_", long]) {
      const res = await registry.call("GET", `/v2/${name}/blobs/${digest}`);
      expect([name, res.status, code(res)]).toEqual([name, 400, "NAME_INVALID"]);
    }
    const upload = await registry.call("POST", `/v2/${long}/blobs/uploads/`);
    expect(code(upload)).toBe("NAME_INVALID");
  });

  it("asks for credentials with 401 and a challenge naming the repository and actions", async () => {
    const repo = uniqueRepository("auth");
    const blob = await registry.pushBlob(repo, "private");
    const read = await registry.call("GET", `/v2/${repo}/blobs/${blob.digest}`, { auth: null });
    expect(read.status).toBe(401);
    expect(code(read)).toBe("UNAUTHORIZED");
    expect(read.headers["www-authenticate"]).toMatch(
      new RegExp(
        `^Bearer realm="https://[^"]+/service/token",service="[^"]+",scope="repository:${repo}:pull"$`,
      ),
    );
    const push = await registry.call("POST", `/v2/${repo}/blobs/uploads/`, { auth: null });
    expect(push.status).toBe(401);
    expect(push.headers["www-authenticate"]).toContain(`scope="repository:${repo}:pull,push"`);
    const remove = await registry.call("DELETE", `/v2/${repo}/blobs/${blob.digest}`, { auth: null });
    expect(remove.headers["www-authenticate"]).toContain(`scope="repository:${repo}:delete"`);
  });

  it("answers 403 DENIED to a token that does not cover the action", async () => {
    const repo = uniqueRepository("denied");
    const token = (
      await registry.call("GET", `/service/token?service=trustdock&scope=repository:${repo}:pull`)
    ).json<{ token: string }>().token;
    const res = await registry.call("POST", `/v2/${repo}/blobs/uploads/`, { auth: `Bearer ${token}` });
    expect(res.status).toBe(403);
    expect(code(res)).toBe("DENIED");
  });

  it("answers 405 UNSUPPORTED for a method a registry endpoint does not have", async () => {
    const repo = uniqueRepository("method");
    const res = await registry.call("PUT", `/v2/${repo}/blobs/${sha256("x")}`);
    expect(res.status).toBe(405);
    expect(code(res)).toBe("UNSUPPORTED");
  });
});
