import { describeOnEachDatabase } from "../../test/support/databases.js";
import type { Db } from "../storage/db.js";
import { migrate } from "../storage/migrations.js";
import { ensureAdmin } from "./ensure-admin.js";
import { authMigrations } from "./migrations.js";
import { UserStore } from "./users.js";

describeOnEachDatabase("ensureAdmin", (factory) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let users: UserStore;

  beforeEach(async () => {
    ({ db, dispose } = await factory.create());
    await migrate(db, "auth", authMigrations);
    users = new UserStore(db);
  });
  afterEach(() => dispose());

  it("generates a password on the first start only, and that password logs in", async () => {
    const first = await ensureAdmin(db, undefined);
    expect(first.generatedPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(await ensureAdmin(db, undefined)).toEqual({});
    expect(await users.authenticate("admin", first.generatedPassword ?? "")).toMatchObject({
      username: "admin",
      isAdmin: true,
    });
  });

  it("announces one generated password when two processes start together", async () => {
    const results = await Promise.all([ensureAdmin(db, undefined), ensureAdmin(db, undefined)]);
    const generated = results.flatMap((r) => (r.generatedPassword ? [r.generatedPassword] : []));
    expect(generated).toHaveLength(1);
    expect(await users.authenticate("admin", generated[0] ?? "")).toBeDefined();
  });

  it("sets the admin's password from the environment on every start", async () => {
    const { generatedPassword } = await ensureAdmin(db, undefined);
    expect(await ensureAdmin(db, "first secret")).toEqual({});
    expect(await users.authenticate("admin", generatedPassword ?? "")).toBeUndefined();
    expect(await users.authenticate("admin", "first secret")).toBeDefined();

    await ensureAdmin(db, "second secret");
    expect(await users.authenticate("admin", "first secret")).toBeUndefined();
    expect(await users.authenticate("admin", "second secret")).toMatchObject({ isAdmin: true });
  });

  it("takes an empty environment password for none", async () => {
    expect((await ensureAdmin(db, "")).generatedPassword).toBeDefined();
    expect(await users.authenticate("admin", "")).toBeUndefined();
  });

  it("creates the admin with the environment's password and generates none", async () => {
    expect(await ensureAdmin(db, "from env")).toEqual({});
    expect(await users.authenticate("admin", "from env")).toBeDefined();
    expect(await ensureAdmin(db, undefined)).toEqual({});
  });
});
