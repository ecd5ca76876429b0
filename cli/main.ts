#!/usr/bin/env node
import { Command } from "commander";
import { registerAdmission } from "./commands/admission.js";
import { registerCerts } from "./commands/certs.js";
import { registerGc } from "./commands/gc.js";
import { registerKey } from "./commands/key.js";
import { registerLogin } from "./commands/login.js";
import { registerProjectKey } from "./commands/project-key.js";
import { registerServer } from "./commands/server.js";
import { registerSign } from "./commands/sign.js";
import { registerSigner } from "./commands/signer.js";
import { registerUp } from "./commands/up.js";
import { registerVerify } from "./commands/verify.js";
import { registerVerifyBlob } from "./commands/verify-blob.js";

const program = new Command("trustdock").description(
  "Trustdock: a Notary-compatible trust server, its signer, and the tools around them",
);
registerUp(program);
registerServer(program);
registerSigner(program);
registerCerts(program);
registerLogin(program);
registerAdmission(program);
registerKey(program);
registerSign(program);
registerVerify(program);
registerVerifyBlob(program);
registerProjectKey(program);
registerGc(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`trustdock: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
