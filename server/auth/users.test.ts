import { describeOnEachDatabase } from "../../test/support/databases.js";
import type { Db } from "../storage/db.js";
import { migrate } from "../storage/migrations.js";
import { authMigrations } from "./migrations.js";
import { UserStore } from "./users.js";

describeOnEachDatabase("UserStore", (factory) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let users: UserStore;

  beforeAll(async () => {
    ({ db, dispose } = await factory.create());
    await migrate(db, "auth", authMigrations);
    users = new UserStore(db);
  });
  afterAll(() => dispose());

  it("creates users that log in with their password only", async () => {
    const alice = await users.create({ username: "alice", password: "wonderland" });
    expect(alice).toEqual({ id: expect.any(Number), username: "alice", isAdmin: false });
    expect(await users.authenticate("alice", "wonderland")).toEqual(alice);
    expect(await users.authenticate("alice", "Wonderland")).toBeUndefined();
    expect(await users.authenticate("nobody", "wonderland")).toBeUndefined();
    expect(await users.find("alice")).toEqual(alice);
  });

  it("stores no password in the clear", async () => {
    await users.create({ username: "bob", password: "builder" });
    const [row] = await db.query<{ password_hash: string }>(
      "SELECT password_hash FROM users WHERE username = 'bob'",
    );
    expect(row?.password_hash).toMatch(/^scrypt\$/);
    expect(row?.password_hash).not.toContain("builder");
  });

  it("refuses a second user with the same name", async () => {
    await users.create({ username: "carol", password: "one" });
    await expect(users.create({ username: "carol", password: "two" })).rejects.toThrow();
  });

  it("changes passwords of users that exist", async () => {
    await users.create({ username: "dave", password: "old" });
    expect(await users.setPassword("dave", "new")).toBe(true);
    expect(await users.authenticate("dave", "new")).toBeDefined();
    expect(await users.setPassword("nobody", "new")).toBe(false);
  });

  it("refuses an old password at once after a change, even right after it logged in", async () => {
    await users.create({ username: "erin", password: "first" });
    expect(await users.authenticate("erin", "first")).toBeDefined();
    expect(await users.authenticate("erin", "first")).toBeDefined();
    await users.setPassword("erin", "second");
    expect(await users.authenticate("erin", "first")).toBeUndefined();
    expect(await users.authenticate("erin", "second")).toBeDefined();
  });
});
