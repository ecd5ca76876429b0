import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { DEFAULT_POLICY } from "../../core/admission/policy.js";
import type { ImageVerdict } from "../../core/admission/verdict.js";
import { AdmissionService } from "../../server/admission/admission-service.js";
import { RegistryCosignVerifier } from "../../server/admission/cosign-verifier.js";
import { ImageChecker } from "../../server/admission/image-checker.js";
import { readPolicyFile } from "../../server/admission/policy-file.js";
import { AdmissionRegistryClient } from "../../server/admission/registry-client.js";
import { MemoryRootPins } from "../../server/admission/root-pins.js";
import { readWorkloads } from "../../server/admission/workload-documents.js";

const LABELS = { admit: "ADMIT", warn: "WARN ", deny: "DENY " } as const;

function line(workload: { kind: string; name: string; namespace: string }, verdict: ImageVerdict): string {
  const where = `${workload.namespace}/${workload.kind}/${workload.name} ${verdict.list}[${verdict.container}]`;
  const outcome =
    verdict.decision === "deny" ? verdict.reasons.join("; ") : (verdict.pinned ?? verdict.reasons.join("; "));
  return `${LABELS[verdict.decision]} ${verdict.image}  (${where})  ${outcome}`;
}

/**
 * `trustdock admission check`: the webhook's verdict for the workloads of a manifest file, for CI.
 * Roots of trust are trusted on first use for the run only; pin them in the policy for a lasting anchor.
 */
export async function admissionCheck(opts: {
  file: string;
  policy?: string;
  namespace: string;
  out: (text: string) => void;
}): Promise<boolean> {
  const workloads = readWorkloads(readFileSync(opts.file, "utf8"), opts.namespace);
  const policy = opts.policy ? readPolicyFile(opts.policy) : DEFAULT_POLICY;
  const registries = new AdmissionRegistryClient((host) => policy.registries[host] ?? {});
  const service = new AdmissionService({
    policy: () => policy,
    checker: new ImageChecker(registries, new MemoryRootPins(), new RegistryCosignVerifier(registries)),
  });
  let denied = 0;
  let images = 0;
  try {
    for (const workload of workloads) {
      for (const verdict of await service.check(workload.images, workload.namespace)) {
        images += 1;
        if (verdict.decision === "deny") denied += 1;
        opts.out(line(workload, verdict));
      }
    }
  } finally {
    registries.close();
  }
  opts.out(
    denied > 0
      ? `${denied} of ${images} images refused`
      : `${images} images admitted in ${workloads.length} workloads`,
  );
  return denied === 0;
}

export function registerAdmission(program: Command): void {
  const admission = program.command("admission").description("the admission check, outside the cluster");
  admission
    .command("check")
    .description("check the images of a manifest file against the admission policy; exits 1 on any denial")
    .requiredOption("-f, --file <workload.yaml>", "the manifest file (several documents allowed)")
    .option(
      "--policy <policy.yaml>",
      "the policy file (default: $TRUSTDOCK_ADMISSION_POLICY, else every image must be signed in Notary)",
    )
    .option("-n, --namespace <namespace>", "the namespace of objects that name none", "default")
    .action(async (options: { file: string; policy?: string; namespace: string }) => {
      const policy = options.policy ?? process.env.TRUSTDOCK_ADMISSION_POLICY;
      const admitted = await admissionCheck({
        file: options.file,
        ...(policy ? { policy } : {}),
        namespace: options.namespace,
        out: (text) => console.log(text),
      });
      if (!admitted) process.exitCode = 1;
    });
}
