import { setMaxListeners } from "node:events";
import {
  describe,
  fullName,
  type ImageReference,
  InvalidImageReferenceError,
  parseImageReference,
} from "../../core/admission/image-reference.js";
import { type AdmissionPolicy, isExempt, type PolicyRule, ruleFor } from "../../core/admission/policy.js";
import {
  type AdmissionAnswer,
  type AdmissionRequest,
  MalformedReviewError,
} from "../../core/admission/review.js";
import {
  aggregate,
  type Decision,
  type ImageFindings,
  type ImageVerdict,
  pinningPatch,
} from "../../core/admission/verdict.js";
import {
  type ContainerImage,
  imagePullSecretNames,
  isWorkloadKind,
  workloadImages,
} from "../../core/admission/workload.js";
import type { AuditEntry } from "../projects/audit-log.js";
import type { CheckResult, ImageChecker } from "./image-checker.js";
import type { PullSecrets } from "./pull-secrets.js";

export interface AdmissionServiceOptions {
  /** The policy in force; asked once per review, so a changed file applies to the next one. */
  policy: () => AdmissionPolicy;
  checker: ImageChecker;
  /** Where the workload's imagePullSecrets are read (in a cluster); without, only the policy's credentials. */
  pullSecrets?: PullSecrets;
  /** Where each decision is recorded (the audit log); the CLI records nothing. */
  record?: (entries: AuditEntry[]) => void;
}

export interface AdmissionOutcome {
  verdicts: ImageVerdict[];
  answer: AdmissionAnswer;
}

interface CacheEntry {
  result: Promise<CheckResult>;
  /** The result once it is in: a review answered from it needs no deadline, timer or abort signal. */
  settled?: CheckResult;
  /** Infinity while the check runs: reviews arriving meanwhile (a Deployment's 50 pods) share it. */
  expiresAt: number;
}

/** What the checks of one review race against, made only when a review has to wait for a check. */
interface Deadline {
  signal: AbortSignal;
  expired: Promise<CheckResult>;
  timer: NodeJS.Timeout;
}

const MAX_CACHE_ENTRIES = 10_000;

/**
 * The admission decision for a workload: each image checked against the first rule that matches it,
 * within the policy's deadline (an image not checked in time is refused), results cached for the
 * policy's TTL, every decision recorded.
 */
export class AdmissionService {
  private readonly cache = new Map<string, CacheEntry>();
  /** Each image's reference and rule under the policy in force, by namespace and image. */
  private readonly matched = new Map<string, Matched>();
  private cachedFor: AdmissionPolicy | undefined;

  constructor(private readonly opts: AdmissionServiceOptions) {}

  async review(request: AdmissionRequest, opts: { pin: boolean }): Promise<AdmissionOutcome> {
    if (
      request.operation === "DELETE" ||
      request.operation === "CONNECT" ||
      !isWorkloadKind(request.kind.kind)
    )
      return { verdicts: [], answer: { allowed: true } };
    const images = workloadImages(request.kind.kind, request.object);
    const admitted = this.unchangedImages(request);
    const changed = images.filter((image) => !admitted.has(`${image.pointer} ${image.image}`));
    const checked = await this.check(
      changed,
      request.namespace ?? "",
      imagePullSecretNames(request.kind.kind, request.object),
    );
    const verdicts = images.map(
      (image): ImageVerdict =>
        checked.find((v) => v.pointer === image.pointer) ?? {
          ...image,
          decision: "admit",
          reasons: ["unchanged by this update"],
        },
    );
    this.audit(request, verdicts);
    const answer = aggregate(verdicts);
    return {
      verdicts,
      answer: opts.pin && answer.allowed ? { ...answer, patch: pinningPatch(verdicts) } : answer,
    };
  }

  /**
   * On UPDATE, the images the stored object already runs at the same place: they were checked when it was
   * admitted, and checking them again would refuse a label change whenever their registry is down.
   */
  private unchangedImages(request: AdmissionRequest): Set<string> {
    if (request.operation !== "UPDATE" || request.oldObject === null) return new Set();
    try {
      const before = workloadImages(request.kind.kind, request.oldObject);
      return new Set(before.map((image) => `${image.pointer} ${image.image}`));
    } catch (err) {
      if (err instanceof MalformedReviewError) return new Set();
      throw err;
    }
  }

  /**
   * The verdict for each of `images` in `namespace`, whose pods pull with `pullSecrets`: what the webhook
   * and the CLI both decide on.
   */
  async check(
    images: readonly ContainerImage[],
    namespace: string,
    pullSecrets: readonly string[] = [],
  ): Promise<ImageVerdict[]> {
    const policy = this.opts.policy();
    if (this.cachedFor !== policy) {
      this.cache.clear();
      this.matched.clear();
      this.cachedFor = policy;
    }
    if (isExempt(policy, namespace))
      return images.map((image) => ({
        ...image,
        decision: "admit",
        reasons: [`namespace ${namespace} is exempt`],
      }));
    // The deadline runs from here, made on the first image that needs a check: a review answered from
    // settled cache entries alone (the warm path) has nothing to wait for.
    let deadline: Deadline | undefined;
    const startDeadline = (): Deadline => {
      if (deadline) return deadline;
      const signal = AbortSignal.timeout(policy.deadlineMs);
      // Every registry request of the review listens on it: many images, many trust files.
      setMaxListeners(0, signal);
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<CheckResult>((resolve) => {
        const failures = [`not checked within the ${policy.deadlineMs} ms deadline`];
        timer = setTimeout(() => resolve({ findings: { failures }, transient: true }), policy.deadlineMs);
      });
      deadline = { signal, expired, timer: timer as NodeJS.Timeout };
      return deadline;
    };
    const byImage = new Map<string, ImageVerdictParts | Promise<ImageVerdictParts>>();
    try {
      for (const { image } of images) {
        if (!byImage.has(image))
          byImage.set(image, this.decide(image, { namespace, pullSecrets }, policy, startDeadline));
      }
      const decided = images.map(
        (image) => byImage.get(image.image) as ImageVerdictParts | Promise<ImageVerdictParts>,
      );
      // Answered from the cache, every part is already there: no promise to wait for.
      const parts = decided.some((part) => part instanceof Promise) ? await Promise.all(decided) : decided;
      return images.map((image, i) => imageVerdict(image, parts[i] as ImageVerdictParts));
    } finally {
      clearTimeout(deadline?.timer);
    }
  }

  /** The verdict on one image: at once when the rule needs no check or its result is cached. */
  private decide(
    image: string,
    scope: Scope,
    policy: AdmissionPolicy,
    startDeadline: () => Deadline,
  ): ImageVerdictParts | Promise<ImageVerdictParts> {
    const matched = this.match(image, scope.namespace, policy);
    if ("invalid" in matched) return { decision: "deny", reasons: [matched.invalid] };
    const { ref, rule } = matched;
    if (!rule) {
      return policy.unmatched === "allow"
        ? { decision: "admit", reasons: ["no policy rule matches it"] }
        : { decision: "deny", reasons: [`no policy rule matches ${describe(ref)}`] };
    }
    const settled = this.settled(ref, rule, scope, policy);
    if (settled) return verdictParts(rule, settled.findings);
    const { signal, expired } = startDeadline();
    return Promise.race([this.cached(ref, rule, scope, policy, signal), expired]).then(({ findings }) =>
      verdictParts(rule, findings),
    );
  }

  /**
   * The reference `image` names and the rule it falls under in `namespace`: the same for every review
   * until the policy changes, and worth remembering (parsing and glob matching were about 5% of a warm
   * review's CPU).
   */
  private match(image: string, namespace: string, policy: AdmissionPolicy): Matched {
    const key = `${namespace} ${image}`;
    let matched = this.matched.get(key);
    if (matched) return matched;
    try {
      const ref = parseImageReference(image);
      matched = { ref, rule: ruleFor(policy, fullName(ref), namespace) };
    } catch (err) {
      if (!(err instanceof InvalidImageReferenceError)) throw err;
      matched = { invalid: err.message };
    }
    if (this.matched.size >= MAX_CACHE_ENTRIES) this.matched.clear();
    this.matched.set(key, matched);
    return matched;
  }

  /** What one namespace's pull secrets let through is not an answer for another namespace. */
  private cacheKey(ref: ImageReference, rule: PolicyRule, scope: Scope, policy: AdmissionPolicy): string {
    const usesPullSecrets = this.usesPullSecrets(ref, scope, policy);
    return `${policy.rules.indexOf(rule)} ${describe(ref)}${usesPullSecrets ? ` ${scope.namespace}/${scope.pullSecrets.join(",")}` : ""}`;
  }

  private usesPullSecrets(ref: ImageReference, scope: Scope, policy: AdmissionPolicy): boolean {
    return (
      this.opts.pullSecrets !== undefined &&
      scope.pullSecrets.length > 0 &&
      !policy.registries[ref.registry]?.username
    );
  }

  /** The cached result of a check that has finished and not expired. */
  private settled(
    ref: ImageReference,
    rule: PolicyRule,
    scope: Scope,
    policy: AdmissionPolicy,
  ): CheckResult | undefined {
    const hit = this.cache.get(this.cacheKey(ref, rule, scope, policy));
    return hit?.settled && hit.expiresAt > Date.now() ? hit.settled : undefined;
  }

  private cached(
    ref: ImageReference,
    rule: PolicyRule,
    scope: Scope,
    policy: AdmissionPolicy,
    signal: AbortSignal,
  ): Promise<CheckResult> {
    const source = this.opts.pullSecrets;
    const usesPullSecrets = source !== undefined && this.usesPullSecrets(ref, scope, policy);
    const key = this.cacheKey(ref, rule, scope, policy);
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > Date.now()) return hit.result;
    const credentials = usesPullSecrets
      ? source.credentials(scope.namespace, scope.pullSecrets, ref.registry, signal)
      : Promise.resolve(undefined);
    const result = credentials
      .then((found) => this.opts.checker.check(ref, rule, signal, found))
      .catch(
        (err: unknown): CheckResult => ({
          findings: { failures: [`the check failed: ${(err as Error).message}`] },
          transient: true,
        }),
      );
    if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
    const entry: CacheEntry = { result, expiresAt: Number.POSITIVE_INFINITY };
    this.cache.set(key, entry);
    void result.then((r) => {
      if (this.cache.get(key) !== entry) return;
      // A check that could not be made is not an answer to remember: the next review asks again.
      if (r.transient) this.cache.delete(key);
      else {
        entry.settled = r;
        entry.expiresAt = Date.now() + policy.cacheTtlMs;
      }
    });
    return result;
  }

  private audit(request: AdmissionRequest, verdicts: readonly ImageVerdict[]): void {
    const record = this.opts.record;
    if (!record || verdicts.length === 0) return;
    const workload = `${request.namespace ?? ""}/${request.kind.kind}/${request.name ?? ""}`;
    record(
      verdicts.map((v) => ({
        username: request.userInfo.username || "anonymous",
        operation: v.decision,
        resourceType: "admission",
        resource: `${v.pinned ?? v.image} in ${workload} (${v.reasons.join("; ")})`,
      })),
    );
  }
}

type Matched = { ref: ImageReference; rule: PolicyRule | undefined } | { invalid: string };

interface Scope {
  namespace: string;
  pullSecrets: readonly string[];
}

type ImageVerdictParts = Pick<ImageVerdict, "decision" | "reasons" | "rule" | "digest" | "pinned">;

/**
 * Field by field: in Node 20 `{ ...image, ...parts }` goes through V8's slow generic copy, about 3 µs an
 * image, a sizeable share of a warm review's CPU.
 */
function imageVerdict(image: ContainerImage, parts: ImageVerdictParts): ImageVerdict {
  const verdict: ImageVerdict = {
    image: image.image,
    container: image.container,
    list: image.list,
    pointer: image.pointer,
    decision: parts.decision,
    reasons: parts.reasons,
  };
  if (parts.rule !== undefined) verdict.rule = parts.rule;
  if (parts.digest !== undefined) verdict.digest = parts.digest;
  if (parts.pinned !== undefined) verdict.pinned = parts.pinned;
  return verdict;
}

function verdictParts(rule: PolicyRule, findings: ImageFindings): ImageVerdictParts {
  const decision: Decision =
    findings.failures.length === 0 ? "admit" : rule.action === "warn" ? "warn" : "deny";
  const reasons =
    findings.failures.length > 0
      ? findings.failures
      : [
          [rule.notary && "signed in Notary", rule.cosign && "signed by cosign"].filter(Boolean).join(", ") ||
            "no verification required",
        ];
  return {
    decision,
    reasons,
    rule: rule.name,
    ...(findings.digest ? { digest: findings.digest } : {}),
    ...(findings.pinned ? { pinned: findings.pinned } : {}),
  };
}
