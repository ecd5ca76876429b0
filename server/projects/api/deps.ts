import type { AccessPolicy } from "../../auth/access.js";
import type { AuditLog } from "../audit-log.js";
import type { RepositoryCatalog, SignatureCheck } from "../catalog.js";
import type { MemberStore } from "../member-store.js";
import type { ProjectStore } from "../project-store.js";
import type { RobotStore } from "../robot-store.js";
import type { UserDirectory } from "../user-directory.js";

/** What the API's route families work with. */
export interface ApiDeps {
  readonly projects: ProjectStore;
  readonly members: MemberStore;
  readonly robots: RobotStore;
  readonly users: UserDirectory;
  readonly audit: AuditLog;
  readonly policy: AccessPolicy;
  readonly catalog: RepositoryCatalog;
  readonly isSigned: SignatureCheck;
}
