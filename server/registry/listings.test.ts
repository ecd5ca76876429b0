import { describeOnEachDatabase } from "../../test/support/databases.js";
import { ADMIN_PASSWORD, type TestTrustdock, trustdockForSuite } from "../../test/support/trustdock.js";
import { OCI_MANIFEST } from "./manifest-format.js";
import {
  basicAuth,
  type RegistryClient,
  type RegistryReply,
  registryClient,
  uniqueRepository,
} from "./testing/registry-client.js";

const ADMIN_BASIC = basicAuth("admin", ADMIN_PASSWORD);

describeOnEachDatabase("registry tag lists and catalog", (databases) => {
  const suite = trustdockForSuite(databases);
  let td: TestTrustdock;
  let registry: RegistryClient;

  beforeAll(() => {
    td = suite.td;
    registry = registryClient(td.app, ADMIN_BASIC);
  });

  const code = (res: RegistryReply) => res.json().errors[0]?.code;

  /** Follows `Link: <...>; rel="next"` from `path` to the end; the pages' items and the links seen. */
  async function allPages(path: string, key: "tags" | "repositories") {
    const pages: string[][] = [];
    const links: string[] = [];
    let next: string | undefined = path;
    while (next !== undefined) {
      const res = await registry.call("GET", next);
      expect(res.status).toBe(200);
      pages.push(res.json<Record<string, string[]>>()[key] ?? []);
      const link = res.headers.link as string | undefined;
      if (link) links.push(link);
      next = link === undefined ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
    }
    return { pages, links };
  }

  async function tagAll(repo: string, tags: string[]): Promise<void> {
    const image = await registry.pushImage(repo, undefined);
    const manifest = JSON.parse(image.bytes.toString());
    for (const tag of tags) {
      expect((await registry.pushManifest(repo, tag, manifest, OCI_MANIFEST)).reply.status).toBe(201);
    }
  }

  it("lists a repository's tags in lexical order", async () => {
    const repo = uniqueRepository("tags");
    await tagAll(repo, ["v2", "latest", "V1", "1.0", "v10", "_x"]);
    const res = await registry.call("GET", `/v2/${repo}/tags/list`);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ name: repo, tags: ["1.0", "V1", "_x", "latest", "v10", "v2"] });
    expect(res.headers.link).toBeUndefined();
  });

  it("pages tags with n and last, linking each page to the next", async () => {
    const repo = uniqueRepository("paged");
    await tagAll(repo, ["a", "b", "c", "d", "e"]);
    const { pages, links } = await allPages(`/v2/${repo}/tags/list?n=2`, "tags");
    expect(pages).toEqual([["a", "b"], ["c", "d"], ["e"]]);
    expect(links).toEqual([
      `</v2/${repo}/tags/list?n=2&last=b>; rel="next"`,
      `</v2/${repo}/tags/list?n=2&last=d>; rel="next"`,
    ]);

    const after = await registry.call("GET", `/v2/${repo}/tags/list?last=c`);
    expect(after.json<{ tags: string[] }>().tags).toEqual(["d", "e"]);
    const exact = await registry.call("GET", `/v2/${repo}/tags/list?n=5`);
    expect(exact.json<{ tags: string[] }>().tags).toHaveLength(5);
    expect(exact.headers.link).toBeUndefined();
    const zero = await registry.call("GET", `/v2/${repo}/tags/list?n=0`);
    expect(zero.json<{ tags: string[] }>().tags).toEqual([]);
    expect(zero.headers.link).toBeUndefined();
  });

  it("refuses an n that is not a count", async () => {
    const repo = uniqueRepository("bad-n");
    await tagAll(repo, ["a"]);
    for (const n of ["-1", "two", "1.5"]) {
      const res = await registry.call("GET", `/v2/${repo}/tags/list?n=${n}`);
      expect([n, res.status, code(res)]).toEqual([n, 400, "PAGINATION_NUMBER_INVALID"]);
    }
  });

  it("refuses a last the database cannot compare with 400, not a failure", async () => {
    const repo = uniqueRepository("nul-last");
    await tagAll(repo, ["a"]);
    for (const path of [`/v2/${repo}/tags/list?last=%00`, "/v2/_catalog?last=a%00b"]) {
      expect([path, (await registry.call("GET", path)).status]).toEqual([path, 400]);
    }
  });

  it("answers NAME_UNKNOWN for the tags of a repository that does not exist", async () => {
    const res = await registry.call("GET", `/v2/${uniqueRepository("nothing")}/tags/list`);
    expect([res.status, code(res)]).toEqual([404, "NAME_UNKNOWN"]);
  });

  it("lists every repository in the catalog for the admin, paged", async () => {
    const names = [uniqueRepository("catalog"), uniqueRepository("catalog"), uniqueRepository("catalog")];
    for (const name of names) await registry.pushBlob(name, "makes the repository exist");

    const whole = await registry.call("GET", "/v2/_catalog");
    expect(whole.status).toBe(200);
    const repositories = whole.json<{ repositories: string[] }>().repositories;
    expect(repositories).toEqual(expect.arrayContaining(names));
    expect(repositories).toEqual([...repositories].sort());

    const { pages, links } = await allPages("/v2/_catalog?n=1", "repositories");
    expect(pages.flat()).toEqual(repositories);
    expect(links[0]).toBe(`</v2/_catalog?n=1&last=${encodeURIComponent(repositories[0] ?? "")}>; rel="next"`);
  });

  it("keeps the catalog from anyone but the admin", async () => {
    const anonymous = await registry.call("GET", "/v2/_catalog", { auth: null });
    expect([anonymous.status, code(anonymous)]).toEqual([401, "UNAUTHORIZED"]);
    expect(anonymous.headers["www-authenticate"]).toContain('scope="registry:catalog:*"');

    const repo = uniqueRepository("not-catalog");
    const token = (
      await registry.call("GET", `/service/token?service=trustdock&scope=repository:${repo}:pull`)
    ).json<{ token: string }>().token;
    const narrow = await registry.call("GET", "/v2/_catalog", { auth: `Bearer ${token}` });
    expect([narrow.status, code(narrow)]).toEqual([403, "DENIED"]);

    const catalogToken = (
      await registry.call("GET", "/service/token?service=trustdock&scope=registry:catalog:*")
    ).json<{ token: string }>().token;
    expect((await registry.call("GET", "/v2/_catalog", { auth: `Bearer ${catalogToken}` })).status).toBe(200);
  });
});
