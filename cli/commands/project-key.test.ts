import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publicKeyToPem } from "../../core/cosign/keys.js";
import { trustdock } from "../../test/support/cli.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../../test/support/trustdock.js";

describe("trustdock project key", () => {
  let td: TestTrustdock;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  beforeAll(async () => {
    td = await startTestTrustdock();
    dir = mkdtempSync(join(tmpdir(), "trustdock-project-key-"));
    env = {
      TRUSTDOCK_CONFIG: join(dir, "config.json"),
      TRUSTDOCK_URL: td.hostPort,
      TRUSTDOCK_CA: td.tls.caCert,
      TRUSTDOCK_USERNAME: "admin",
      TRUSTDOCK_PASSWORD: ADMIN_PASSWORD,
    };
  }, 120_000);
  afterAll(() => td.close());

  it("adds a cosign.pub to a project, lists it, and removes it by name", async () => {
    const file = join(dir, "release.pub");
    writeFileSync(file, publicKeyToPem(generateKeyPairSync("ed25519").publicKey));
    const added = await trustdock(["project", "key", "add", "library", file], { env });
    expect(added.stderr).toBe("");
    expect(added.stdout).toMatch(/^Added key \d+ \(release, ed25519, sha256:[0-9a-f]{64}\) to library\n$/);

    const listed = await trustdock(["project", "key", "ls", "library"], { env });
    const [header, row] = listed.stdout.trim().split("\n");
    expect(header).toMatch(/^ID\s+NAME\s+ALGORITHM\s+FINGERPRINT\s+ADDED BY\s+CREATED$/);
    expect(row).toMatch(/^\d+\s+release\s+ed25519\s+sha256:[0-9a-f]{64}\s+admin\s+\S+$/);

    const removed = await trustdock(["project", "key", "rm", "library", "release"], { env });
    expect(removed.stdout).toMatch(/^Removed key \d+ \(release\) from library\n$/);
    expect(
      (await trustdock(["project", "key", "ls", "library"], { env })).stdout.trim().split("\n"),
    ).toHaveLength(1);
  });

  it("says why the server refused a key, and exits 1", async () => {
    const file = join(dir, "weak.pub");
    writeFileSync(file, publicKeyToPem(generateKeyPairSync("ec", { namedCurve: "P-521" }).publicKey));
    const refused = await trustdock(["project", "key", "add", "library", file, "--name", "weak"], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "the server refused (400): not a cosign public key: unsupported ECDSA curve",
    );
    const unknown = await trustdock(["project", "key", "rm", "library", "nothing"], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("project library trusts no key nothing");
  });

  it("needs credentials", async () => {
    const anonymous = { ...env, TRUSTDOCK_USERNAME: "", TRUSTDOCK_PASSWORD: "" };
    const res = await trustdock(["project", "key", "ls", "library"], { env: anonymous });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("no credentials for");
  });
});
