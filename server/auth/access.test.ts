import {
  type Access,
  allows,
  grantAccess,
  grantedActions,
  parseRepositoryName,
  parseScope,
  parseScopes,
} from "./access.js";
import type { User } from "./users.js";

const admin: User = { id: 1, username: "admin", isAdmin: true };
const alice: User = { id: 2, username: "alice", isAdmin: false };

describe("parseRepositoryName", () => {
  it.each([
    ["127.0.0.1:5000/library/app", "library/app", "library"],
    ["example.com/fixture/app", "fixture/app", "fixture"],
    ["localhost/library/app", "library/app", "library"],
    ["[::1]:5000/library/app", "library/app", "library"],
    ["library/app", "library/app", "library"],
    ["team/sub/app", "team/sub/app", "team"],
    ["app", "app", "app"],
    ["a__b/c-d.e_f", "a__b/c-d.e_f", "a__b"],
  ])("%s is %s in project %s", (name, path, project) => {
    expect(parseRepositoryName(name)).toEqual({ path, project });
  });

  it.each([
    "",
    "Library/app",
    "library//app",
    "library/app/",
    "library/-app",
    "127.0.0.1:5000",
    "bad_host.com/app",
    "library/app:tag",
    `library/${"a".repeat(255)}`,
  ])("refuses %j", (name) => {
    expect(parseRepositoryName(name)).toBeUndefined();
  });
});

describe("parseScope", () => {
  it("splits type, name and actions even when the name holds a port", () => {
    expect(parseScope("repository:127.0.0.1:5000/library/app:pull,push")).toEqual({
      type: "repository",
      name: "127.0.0.1:5000/library/app",
      actions: ["pull", "push"],
    });
    expect(parseScope("repository:library/app:pull")).toEqual({
      type: "repository",
      name: "library/app",
      actions: ["pull"],
    });
  });

  it("reads the catalog scope", () => {
    expect(parseScope("registry:catalog:*")).toEqual({ type: "registry", name: "catalog", actions: ["*"] });
  });

  it("keeps the known actions only, once each", () => {
    expect(parseScope("repository:library/app:pull,delete,pull")?.actions).toEqual(["pull"]);
  });

  it.each([
    "repository:library/app",
    "repository:Library/App:pull",
    "repository:library/app:delete",
    "repository(plugin):library/app:pull",
    "unknown:library/app:pull",
    "registry:other:*",
    "registry:catalog:pull",
    "nonsense",
  ])("drops %j", (scope) => {
    expect(parseScope(scope)).toBeUndefined();
  });
});

describe("parseScopes", () => {
  it("reads repeated and space-separated scopes, merging those for one resource", () => {
    expect(
      parseScopes(["repository:library/app:pull", "repository:library/app:push registry:catalog:* bad:x:y"]),
    ).toEqual([
      { type: "repository", name: "library/app", actions: ["pull", "push"] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ]);
  });
});

describe("grants", () => {
  const requested: Access[] = [
    { type: "repository", name: "127.0.0.1:5000/library/app", actions: ["pull", "push"] },
    { type: "registry", name: "catalog", actions: ["*"] },
  ];

  it("give the admin everything asked for", () => {
    expect(grantAccess(admin, requested)).toEqual(requested);
  });

  it("give other users and anonymous nothing, leaving empty entries out", () => {
    expect(grantAccess(alice, requested)).toEqual([]);
    expect(grantAccess(null, requested)).toEqual([]);
    expect(grantedActions(null, { type: "repository", name: "library/app" }, ["pull"])).toEqual([]);
  });

  it("give nobody a malformed repository", () => {
    expect(grantedActions(admin, { type: "repository", name: "Not/Valid" }, ["pull"])).toEqual([]);
  });
});

describe("allows", () => {
  const granted: Access[] = [{ type: "repository", name: "127.0.0.1:5000/library/app", actions: ["pull"] }];

  it("matches a GUN's grant to the same repository's registry path", () => {
    expect(allows(granted, { type: "repository", name: "library/app" }, ["pull"])).toBe(true);
    expect(allows(granted, { type: "repository", name: "example.com/library/app" }, ["pull"])).toBe(true);
  });

  it("needs every action, on that repository", () => {
    expect(allows(granted, { type: "repository", name: "library/app" }, ["pull", "push"])).toBe(false);
    expect(allows(granted, { type: "repository", name: "library/other" }, ["pull"])).toBe(false);
    expect(allows(granted, { type: "registry", name: "catalog" }, ["pull"])).toBe(false);
  });

  it("lets * stand for every action", () => {
    const star: Access[] = [{ type: "repository", name: "library/app", actions: ["*"] }];
    expect(allows(star, { type: "repository", name: "library/app" }, ["pull", "push", "*"])).toBe(true);
  });
});
