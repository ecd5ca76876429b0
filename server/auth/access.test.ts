import { describeOnEachDatabase } from "../../test/support/databases.js";
import { basicAuthenticator } from "../projects/credentials.js";
import { ProjectStore } from "../projects/project-store.js";
import { RobotStore } from "../projects/robot-store.js";
import { type AccessWorld, passwordOf, seedAccessWorld } from "../projects/testing/access-world.js";
import {
  type Access,
  AccessPolicy,
  type Action,
  ANONYMOUS_PRINCIPAL,
  type AuthenticateBasic,
  allows,
  type Principal,
  parseRepositoryName,
  parseScope,
  parseScopes,
} from "./access.js";
import { UserStore } from "./users.js";

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
    expect(parseScope("repository:library/app:pull,bogus,delete,pull")?.actions).toEqual(["pull", "delete"]);
  });

  it.each([
    "repository:library/app",
    "repository:Library/App:pull",
    "repository:library/app:bogus",
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

const ALL: Action[] = ["pull", "push", "delete", "*"];
const WRITES: Action[] = ["pull", "push"];
const READS: Action[] = ["pull"];
const NOTHING: Action[] = [];

describeOnEachDatabase("AccessPolicy", (factory) => {
  let dispose: () => Promise<void>;
  let world: AccessWorld;
  let policy: AccessPolicy;
  let authenticate: AuthenticateBasic;

  beforeAll(async () => {
    const created = await factory.create();
    dispose = created.dispose;
    world = await seedAccessWorld(created.db);
    policy = new AccessPolicy(new ProjectStore(created.db));
    authenticate = basicAuthenticator(new UserStore(created.db), new RobotStore(created.db));
  });
  afterAll(() => dispose());

  const login = async (who: string): Promise<Principal> => {
    if (who === "anonymous") return ANONYMOUS_PRINCIPAL;
    const robot = Object.values(world.robots).find((r) => r.name === `robot$team+${who}`);
    const principal = robot
      ? await authenticate(robot.name, robot.secret)
      : await authenticate(who, passwordOf(who));
    if (!principal) throw new Error(`${who} cannot log in`);
    return principal;
  };
  const granted = async (who: string, repository: string) =>
    policy.grantedActions(await login(who), { type: "repository", name: repository }, ALL);

  // Each caller asks for every action on a repository of the public project and of the private one.
  it.each([
    ["anonymous", READS, NOTHING],
    ["outsider", READS, NOTHING],
    ["guest", READS, READS],
    ["developer", WRITES, WRITES],
    ["maintainer", ALL, ALL],
    ["projectadmin", ALL, ALL],
    ["admin", ALL, ALL],
    ["ci", READS, WRITES],
    ["cleaner", READS, ALL],
    ["reader", READS, READS],
  ])("gives %s %j on the public project and %j on the private one", async (who, open, team) => {
    expect(await granted(who, "open/app")).toEqual(open);
    expect(await granted(who, "team/app")).toEqual(team);
  });

  it("decides for a GUN as for its registry path, and for nested repositories by their project", async () => {
    expect(await granted("developer", "127.0.0.1:5000/team/app")).toEqual(WRITES);
    expect(await granted("guest", "example.com/team/sub/app")).toEqual(READS);
  });

  it("gives a robot nothing in a private project other than its own", async () => {
    expect(await granted("ci", "elsewhere/app")).toEqual(NOTHING);
    expect(await granted("cleaner", "elsewhere/app")).toEqual(NOTHING);
  });

  it("gives nobody, not even the admin, anything in a project that does not exist", async () => {
    for (const who of ["admin", "projectadmin", "anonymous", "ci"]) {
      expect(await granted(who, "nosuchproject/app")).toEqual(NOTHING);
    }
  });

  it("gives nobody a malformed repository", async () => {
    expect(await granted("admin", "Not/Valid")).toEqual(NOTHING);
  });

  it("keeps the catalog for the system admin", async () => {
    const catalog = { type: "registry", name: "catalog" } as const;
    expect(await policy.grantedActions(await login("admin"), catalog, ["*"])).toEqual(["*"]);
    for (const who of ["projectadmin", "anonymous", "cleaner"]) {
      expect(await policy.grantedActions(await login(who), catalog, ["*"])).toEqual(NOTHING);
    }
  });

  it("cuts each requested entry down to what is granted, leaving empty ones out", async () => {
    const requested: Access[] = [
      { type: "repository", name: "127.0.0.1:5000/team/app", actions: ["pull", "push"] },
      { type: "repository", name: "open/app", actions: ["pull", "push"] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ];
    expect(await policy.grantAccess(await login("guest"), requested)).toEqual([
      { type: "repository", name: "127.0.0.1:5000/team/app", actions: ["pull"] },
      { type: "repository", name: "open/app", actions: ["pull"] },
    ]);
    expect(await policy.grantAccess(await login("admin"), requested)).toEqual(requested);
  });

  it("lets no expired or disabled robot, nor a wrong secret, log in", async () => {
    const { expired, disabled, ci } = world.robots;
    expect(await authenticate(expired.name, expired.secret)).toBeUndefined();
    expect(await authenticate(disabled.name, disabled.secret)).toBeUndefined();
    expect(await authenticate(ci.name, disabled.secret)).toBeUndefined();
    expect(await authenticate("robot$open+ci", ci.secret)).toBeUndefined();
  });

  it("tells the API what each caller may do to a project", async () => {
    const permissions = async (who: string, project: string) => [
      ...(await policy.projectPermissions(await login(who), project)),
    ];
    expect(await permissions("projectadmin", "team")).toEqual(["read", "list-members", "administer"]);
    expect(await permissions("admin", "team")).toEqual(["read", "list-members", "administer"]);
    expect(await permissions("maintainer", "team")).toEqual(["read", "list-members"]);
    expect(await permissions("guest", "team")).toEqual(["read", "list-members"]);
    expect(await permissions("outsider", "team")).toEqual([]);
    expect(await permissions("outsider", "open")).toEqual(["read"]);
    expect(await permissions("anonymous", "open")).toEqual(["read"]);
    expect(await permissions("reader", "team")).toEqual(["read"]);
    expect(await permissions("admin", "nosuchproject")).toEqual([]);
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
