import type { AdmissionAnswer, JsonPatchOperation } from "./review.js";
import type { ContainerImage } from "./workload.js";

export type Decision = "admit" | "warn" | "deny";

/** What checking one image reference found, before the policy's action turns it into a decision. */
export interface ImageFindings {
  /** The manifest digest the reference resolved to, when it could be resolved. */
  digest?: string;
  /** The name as written, pinned to that digest. */
  pinned?: string;
  /** Each requirement the image failed, in words; empty when it met them all. */
  failures: string[];
}

export interface ImageVerdict extends ContainerImage {
  decision: Decision;
  /** Why: the failures, or what let it through. */
  reasons: string[];
  rule?: string;
  digest?: string;
  pinned?: string;
}

const LIST_NAMES = {
  containers: "container",
  initContainers: "init container",
  ephemeralContainers: "ephemeral container",
} as const;

function where(verdict: ImageVerdict): string {
  return `${LIST_NAMES[verdict.list]} "${verdict.container}"`;
}

/**
 * The webhook's answer for all of a workload's images: refused if any image is denied, with a message
 * naming each refused image, its container and why; warnings for images a `warn` rule let through.
 */
export function aggregate(verdicts: readonly ImageVerdict[]): AdmissionAnswer {
  const denied = verdicts.filter((v) => v.decision === "deny");
  const warnings = verdicts
    .filter((v) => v.decision === "warn")
    .map((v) => `trustdock: image ${v.image} (${where(v)}) would be refused: ${v.reasons.join("; ")}`);
  if (denied.length > 0) {
    const count = denied.length === 1 ? "1 image" : `${denied.length} images`;
    const each = denied.map((v) => `image ${v.image} (${where(v)}): ${v.reasons.join("; ")}`);
    return { allowed: false, message: `trustdock refused ${count}: ${each.join(". ")}`, warnings };
  }
  return { allowed: true, warnings };
}

/** RFC 6902 `replace` operations that pin every admitted image to the digest it was checked at. */
export function pinningPatch(verdicts: readonly ImageVerdict[]): JsonPatchOperation[] {
  return verdicts.flatMap((v) =>
    v.decision !== "deny" && v.pinned && v.pinned !== v.image
      ? [{ op: "replace" as const, path: v.pointer, value: v.pinned }]
      : [],
  );
}
