import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_POLICY } from "../../core/admission/policy.js";
import { PolicyFileError, parsePolicy, WatchedPolicy } from "./policy-file.js";

const HEADER = "apiVersion: trustdock.dev/v1\nkind: AdmissionPolicy\n";
const RULES = "rules:\n  - images: ['**']\n    verify:\n      notary: {}\n";

describe("admission policy file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "trustdock-policy-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads registries' credentials from the file or the environment and CA files relative to it", () => {
    writeFileSync(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\n");
    const policy = parsePolicy(
      `${HEADER}deadlineSeconds: 5\nregistries:\n  a.example:\n    username: bot\n    passwordEnv: A_PASSWORD\n    caFile: ca.pem\n  b.example:\n    username: u\n    password: p\n${RULES}`,
      dir,
      { A_PASSWORD: "from-env" },
    );
    expect(policy.registries).toEqual({
      "a.example": { username: "bot", password: "from-env", ca: "-----BEGIN CERTIFICATE-----\n" },
      "b.example": { username: "u", password: "p" },
    });
    expect(policy.deadlineMs).toBe(5000);
  });

  it.each([
    ["YAML that does not parse", `${HEADER}rules: [`, /not valid YAML/],
    ["an unknown field", `${HEADER}${RULES}colour: blue\n`, /must NOT have additional properties/],
    [
      "an unknown action",
      `${HEADER}${RULES}    action: block\n`,
      /\/rules\/0\/action must be equal to one of the allowed values/,
    ],
    [
      "a rule that verifies nothing",
      `${HEADER}rules:\n  - images: ['**']\n    verify: {}\n`,
      /\/rules\/0\/verify/,
    ],
    [
      "a root key that is not a key ID",
      `${HEADER}rules:\n  - images: ['**']\n    verify:\n      notary:\n        rootKeys: [abc]\n`,
      /rootKeys\/0 must match pattern/,
    ],
    [
      "a deadline past the webhook's limit",
      `${HEADER}deadlineSeconds: 31\n${RULES}`,
      /deadlineSeconds must be <= 30/,
    ],
    [
      "a password variable that is not set",
      `${HEADER}registries:\n  a:\n    passwordEnv: NOPE\n${RULES}`,
      /NOPE is not set/,
    ],
  ])("refuses %s", (_what, text, message) => {
    expect(() => parsePolicy(text, dir, {})).toThrow(PolicyFileError);
    expect(() => parsePolicy(text, dir, {})).toThrow(message);
  });

  it("applies a changed file at the next look, and keeps the policy in force when an edit is broken", () => {
    const file = join(dir, "policy.yaml");
    writeFileSync(file, `${HEADER}exemptNamespaces: [a]\n${RULES}`);
    const errors: string[] = [];
    let now = 0;
    const watched = new WatchedPolicy(file, {
      onError: (err) => errors.push(err.message),
      recheckEveryMs: 1000,
      now: () => now,
    });
    const later = () => {
      now += 1000;
      return watched.current();
    };
    expect(watched.current().exemptNamespaces).toEqual(["a"]);
    expect(watched.current()).toBe(later());

    writeFileSync(file, `${HEADER}exemptNamespaces: [a, bb]\n${RULES}`);
    // Within the interval the file is not looked at; the first review after it sees the change.
    now += 999;
    expect(watched.current().exemptNamespaces).toEqual(["a"]);
    now += 1;
    expect(watched.current().exemptNamespaces).toEqual(["a", "bb"]);

    writeFileSync(file, `${HEADER}exemptNamespaces: [a, bb, ccc]\nrules: nope\n`);
    expect(later().exemptNamespaces).toEqual(["a", "bb"]);
    expect(later().exemptNamespaces).toEqual(["a", "bb"]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /policy\.yaml: does not match the admission policy schema: \/rules must be array/,
    );

    // Same size as before, only the time moved: still noticed.
    writeFileSync(file, `${HEADER}exemptNamespaces: [x, yy]\n${RULES}`);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(later().exemptNamespaces).toEqual(["x", "yy"]);
  });

  it("looks at the file on every read when told to", () => {
    const file = join(dir, "policy.yaml");
    writeFileSync(file, `${HEADER}exemptNamespaces: [a]\n${RULES}`);
    const watched = new WatchedPolicy(file, { recheckEveryMs: 0 });
    expect(watched.current().exemptNamespaces).toEqual(["a"]);
    writeFileSync(file, `${HEADER}exemptNamespaces: [a, bb]\n${RULES}`);
    expect(watched.current().exemptNamespaces).toEqual(["a", "bb"]);
  });

  it("without a file, requires Notary trust data for every image; a missing file at start is an error", () => {
    expect(new WatchedPolicy(undefined).current()).toBe(DEFAULT_POLICY);
    expect(() => new WatchedPolicy(join(dir, "absent.yaml"))).toThrow(PolicyFileError);
  });
});
