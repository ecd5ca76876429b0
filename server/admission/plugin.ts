import type { FastifyInstance } from "fastify";
import type { CosignVerifier } from "../../core/admission/cosign.js";
import type { Db } from "../storage/db.js";
import { AdmissionService } from "./admission-service.js";
import { RegistryCosignVerifier } from "./cosign-verifier.js";
import { DecisionLog } from "./decision-log.js";
import { ImageChecker } from "./image-checker.js";
import { WatchedPolicy } from "./policy-file.js";
import { KubernetesPullSecrets } from "./pull-secrets.js";
import { AdmissionRegistryClient } from "./registry-client.js";
import { DatabaseRootPins } from "./root-pins.js";
import { admissionRoutes } from "./routes.js";

export interface AdmissionOptions {
  db: Db;
  /** TRUSTDOCK_ADMISSION_POLICY; without one every image must be signed in Notary. */
  policyFile: string | undefined;
  cosign?: CosignVerifier;
  clock?: () => Date;
}

/** The admission webhooks on `app`, with their policy file, registry client, root pins and audit trail. */
export async function registerAdmission(app: FastifyInstance, opts: AdmissionOptions): Promise<void> {
  const policy = new WatchedPolicy(opts.policyFile, {
    onError: (err) =>
      app.log.error(`admission policy not reloaded, the previous one stays in force: ${err.message}`),
  });
  const registries = new AdmissionRegistryClient((host) => policy.current().registries[host] ?? {});
  const cosign = opts.cosign ?? new RegistryCosignVerifier(registries);
  const checker = new ImageChecker(registries, new DatabaseRootPins(opts.db), cosign, opts.clock);
  const decisions = new DecisionLog(opts.db, app.log);
  decisions.start();
  const pullSecrets = KubernetesPullSecrets.inCluster();
  const service = new AdmissionService({
    policy: () => policy.current(),
    checker,
    ...(pullSecrets ? { pullSecrets } : {}),
    record: (entries) => decisions.record(entries),
  });
  // Before the server closes: the registry client's kept-alive connections may be to this very server.
  app.addHook("preClose", async () => registries.close());
  app.addHook("onClose", async () => decisions.close());
  await app.register(admissionRoutes, { service });
}
