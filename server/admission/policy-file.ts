import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Ajv } from "ajv";
import { parse as parseYaml } from "yaml";
import {
  type AdmissionPolicy,
  DEFAULT_POLICY,
  type PolicyDocument,
  policyFromDocument,
  type RegistrySettings,
} from "../../core/admission/policy.js";
import policySchema from "../../schemas/admission-policy.schema.json" with { type: "json" };

export class PolicyFileError extends Error {
  override readonly name = "PolicyFileError";
}

const validate = new Ajv({ allErrors: true, strict: true, useDefaults: false }).compile<PolicyDocument>(
  policySchema,
);

type RegistryDocument = NonNullable<PolicyDocument["registries"]>[string] & {
  passwordEnv?: string;
  caFile?: string;
};

/**
 * A policy file's text (YAML, or JSON which is YAML too) as the policy it describes, checked against
 * schemas/admission-policy.schema.json. `caFile` is read relative to `baseDir`, `passwordEnv` from `env`.
 */
export function parsePolicy(
  text: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): AdmissionPolicy {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    throw new PolicyFileError(`not valid YAML: ${(err as Error).message}`);
  }
  if (!validate(document)) {
    const problems = (validate.errors ?? []).map(
      (e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`,
    );
    throw new PolicyFileError(`does not match the admission policy schema: ${problems.join("; ")}`);
  }
  const registries: Record<string, RegistrySettings> = {};
  for (const [host, entry] of Object.entries(
    (document.registries ?? {}) as Record<string, RegistryDocument>,
  )) {
    if (entry.password !== undefined && entry.passwordEnv !== undefined)
      throw new PolicyFileError(`registry ${host}: password and passwordEnv are exclusive`);
    const password = entry.passwordEnv !== undefined ? env[entry.passwordEnv] : entry.password;
    if (entry.passwordEnv !== undefined && password === undefined)
      throw new PolicyFileError(`registry ${host}: environment variable ${entry.passwordEnv} is not set`);
    let ca = entry.ca;
    if (entry.caFile !== undefined) {
      try {
        ca = `${ca ?? ""}${readFileSync(resolve(baseDir, entry.caFile), "utf8")}`;
      } catch (err) {
        throw new PolicyFileError(`registry ${host}: cannot read caFile: ${(err as Error).message}`);
      }
    }
    registries[host] = {
      ...(entry.username !== undefined ? { username: entry.username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(ca !== undefined ? { ca } : {}),
    };
  }
  return policyFromDocument({ ...document, registries });
}

export function readPolicyFile(path: string): AdmissionPolicy {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new PolicyFileError(`${path}: ${(err as Error).message}`);
  }
  try {
    return parsePolicy(text, dirname(path));
  } catch (err) {
    if (err instanceof PolicyFileError) throw new PolicyFileError(`${path}: ${err.message}`);
    throw err;
  }
}

export interface WatchedPolicyOptions {
  /** Called when a changed file does not parse (the previous policy stays in force). */
  onError?: (err: PolicyFileError) => void;
  /**
   * How often at most the file is looked at. A review asks for the policy every time, and a stat per review
   * costs a system call on the webhook's hot path (about 4% of a warm review's CPU); a second's delay in
   * applying an edit is far below how long a ConfigMap update takes to reach the pod.
   */
  recheckEveryMs?: number;
  now?: () => number;
}

/**
 * The policy of a file, re-read when its modification time or size changes (looked at once per
 * `recheckEveryMs` at most, no restart). A change that does not parse keeps the policy in force and is
 * reported once, so a bad edit does not open the cluster; without a file, DEFAULT_POLICY applies.
 */
export class WatchedPolicy {
  private policy: AdmissionPolicy;
  private seen: string;
  private checkedAt: number;
  private readonly onError: (err: PolicyFileError) => void;
  private readonly recheckEveryMs: number;
  private readonly now: () => number;

  constructor(
    private readonly path: string | undefined,
    opts: WatchedPolicyOptions = {},
  ) {
    this.onError = opts.onError ?? (() => {});
    this.recheckEveryMs = opts.recheckEveryMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.checkedAt = this.now();
    this.seen = this.stamp();
    this.policy = path ? readPolicyFile(path) : DEFAULT_POLICY;
  }

  current(): AdmissionPolicy {
    if (!this.path) return this.policy;
    const now = this.now();
    if (now - this.checkedAt < this.recheckEveryMs) return this.policy;
    this.checkedAt = now;
    const stamp = this.stamp();
    if (stamp !== this.seen) {
      this.seen = stamp;
      try {
        this.policy = readPolicyFile(this.path);
      } catch (err) {
        if (!(err instanceof PolicyFileError)) throw err;
        this.onError(err);
      }
    }
    return this.policy;
  }

  private stamp(): string {
    if (!this.path) return "";
    try {
      const stat = statSync(this.path);
      return `${stat.mtimeMs} ${stat.size} ${stat.ino}`;
    } catch {
      return "missing";
    }
  }
}
