import { globToRegExp } from "./glob.js";

export type RuleAction = "deny" | "warn";

export interface NotaryRequirement {
  /**
   * Root key IDs the repository's root must be signed by (notary's trust pinning). Empty: the root seen
   * first is trusted and pinned, as docker content trust does.
   */
  rootKeys: readonly string[];
}

export interface CosignRequirement {
  /** PEM public keys; a signature by any one of them satisfies the rule. */
  keys: readonly string[];
}

export interface PolicyRule {
  name: string;
  /** Patterns of `registry/repository` (globs, see glob.ts). */
  images: readonly string[];
  /** Namespace patterns; empty means every namespace. */
  namespaces: readonly string[];
  notary?: NotaryRequirement;
  cosign?: CosignRequirement;
  action: RuleAction;
}

export interface RegistrySettings {
  username?: string;
  password?: string;
  /** PEM CA certificates to trust for this registry, instead of the system's. */
  ca?: string;
}

export interface AdmissionPolicy {
  rules: readonly PolicyRule[];
  exemptNamespaces: readonly string[];
  /** What happens to an image no rule matches. */
  unmatched: "allow" | "deny";
  registries: Readonly<Record<string, RegistrySettings>>;
  /** The whole check of one review must finish within this; shorter than the webhook's timeoutSeconds. */
  deadlineMs: number;
  cacheTtlMs: number;
}

export const DEFAULT_DEADLINE_MS = 8000;
export const DEFAULT_CACHE_TTL_MS = 30_000;

/** Without a policy file: every image must carry Notary trust data, its root trusted on first use. */
export const DEFAULT_POLICY: AdmissionPolicy = {
  rules: [{ name: "default", images: ["**"], namespaces: [], notary: { rootKeys: [] }, action: "deny" }],
  exemptNamespaces: [],
  unmatched: "deny",
  registries: {},
  deadlineMs: DEFAULT_DEADLINE_MS,
  cacheTtlMs: DEFAULT_CACHE_TTL_MS,
};

/** The policy file as its JSON Schema admits it (schemas/admission-policy.schema.json). */
export interface PolicyDocument {
  apiVersion: string;
  kind: string;
  deadlineSeconds?: number;
  cacheTtlSeconds?: number;
  exemptNamespaces?: string[];
  unmatchedImages?: "allow" | "deny";
  registries?: Record<string, { username?: string; password?: string; ca?: string }>;
  rules: Array<{
    name?: string;
    images: string[];
    namespaces?: string[];
    verify: { notary?: { rootKeys?: string[] }; cosign?: { keys: string[] } };
    action?: RuleAction;
  }>;
}

/** The model of a schema-valid policy document. */
export function policyFromDocument(doc: PolicyDocument): AdmissionPolicy {
  return {
    rules: doc.rules.map((rule, index) => ({
      name: rule.name ?? `rule ${index + 1}`,
      images: rule.images,
      namespaces: rule.namespaces ?? [],
      ...(rule.verify.notary ? { notary: { rootKeys: rule.verify.notary.rootKeys ?? [] } } : {}),
      ...(rule.verify.cosign ? { cosign: { keys: rule.verify.cosign.keys } } : {}),
      action: rule.action ?? "deny",
    })),
    exemptNamespaces: doc.exemptNamespaces ?? [],
    unmatched: doc.unmatchedImages ?? "deny",
    registries: doc.registries ?? {},
    deadlineMs: (doc.deadlineSeconds ?? DEFAULT_DEADLINE_MS / 1000) * 1000,
    cacheTtlMs: (doc.cacheTtlSeconds ?? DEFAULT_CACHE_TTL_MS / 1000) * 1000,
  };
}

const compiled = new Map<string, RegExp>();
function matches(pattern: string, value: string): boolean {
  let regexp = compiled.get(pattern);
  if (!regexp) {
    regexp = globToRegExp(pattern);
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, regexp);
  }
  return regexp.test(value);
}

export function isExempt(policy: AdmissionPolicy, namespace: string): boolean {
  return policy.exemptNamespaces.some((pattern) => matches(pattern, namespace));
}

/** The first rule, in file order, whose images and namespaces match: rules are read top-down. */
export function ruleFor(policy: AdmissionPolicy, name: string, namespace: string): PolicyRule | undefined {
  return policy.rules.find(
    (rule) =>
      rule.images.some((pattern) => matches(pattern, name)) &&
      (rule.namespaces.length === 0 || rule.namespaces.some((pattern) => matches(pattern, namespace))),
  );
}
