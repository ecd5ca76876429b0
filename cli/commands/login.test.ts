import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trustdock } from "../../test/support/cli.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../../test/support/trustdock.js";

describe("trustdock login", () => {
  let td: TestTrustdock;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    td = await startTestTrustdock();
    const home = mkdtempSync(join(tmpdir(), "trustdock-login-"));
    env = {
      TRUSTDOCK_CONFIG: join(home, "config.json"),
      TRUSTDOCK_CA: td.tls.caCert,
      TRUSTDOCK_PASSWORD: "",
    };
  });
  afterAll(() => td.close());

  it("keeps checked credentials like docker does, readable only by the user", async () => {
    const res = await trustdock(["login", td.hostPort, "-u", "admin", "--password-stdin"], {
      env,
      input: `${ADMIN_PASSWORD}\n`,
    });
    expect(res.stderr).toBe("");
    expect(res.stdout).toContain("Login Succeeded");
    const file = env.TRUSTDOCK_CONFIG as string;
    const saved = JSON.parse(readFileSync(file, "utf8"));
    expect(Buffer.from(saved.auths[td.hostPort].auth, "base64").toString()).toBe(`admin:${ADMIN_PASSWORD}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("refuses a wrong password and keeps nothing", async () => {
    const other = {
      ...env,
      TRUSTDOCK_CONFIG: join(mkdtempSync(join(tmpdir(), "trustdock-login-")), "config.json"),
    };
    const res = await trustdock(["login", td.hostPort, "-u", "admin", "--password-stdin"], {
      env: other,
      input: "wrong\n",
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("wrong user name or password");
    expect(() => readFileSync(other.TRUSTDOCK_CONFIG as string)).toThrow();
  });
});
