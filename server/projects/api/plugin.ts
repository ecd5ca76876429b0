import type { FastifyPluginAsync } from "fastify";
import { CosignKeyStore } from "../../content-trust/cosign-key-store.js";
import type { Db } from "../../storage/db.js";
import type { AccessControl } from "../access-control.js";
import { AuditLog } from "../audit-log.js";
import { EMPTY_CATALOG, NOTHING_SIGNED, type RepositoryCatalog, type SignatureCheck } from "../catalog.js";
import { HarborError } from "../errors.js";
import { MemberStore } from "../member-store.js";
import { ProjectStore } from "../project-store.js";
import { RobotStore } from "../robot-store.js";
import { UserDirectory } from "../user-directory.js";
import { auditLogRoutes } from "./audit-logs-routes.js";
import { cosignKeyRoutes } from "./cosign-keys-routes.js";
import type { ApiDeps } from "./deps.js";
import { memberRoutes } from "./members-routes.js";
import { metadataRoutes } from "./metadata-routes.js";
import { openApiDocument } from "./openapi.js";
import { projectRoutes } from "./projects-routes.js";
import { registerRoute } from "./register-route.js";
import { replyHarborError } from "./reply-error.js";
import { repositoryRoutes } from "./repositories-routes.js";
import { robotRoutes } from "./robots-routes.js";
import { HARBOR_SCHEMAS } from "./schemas.js";
import { userRoutes } from "./users-routes.js";

export interface HarborApiOptions {
  readonly db: Db;
  readonly access: AccessControl;
  /** What the registry stores; without one, projects list no repositories. */
  readonly catalog?: RepositoryCatalog;
  /** Whether Notary trust data signs an artifact; without one, nothing shows as signed. */
  readonly isSigned?: SignatureCheck;
}

/**
 * Harbor's v2.0 API for projects, their members and robot accounts, users and the audit log, with its
 * OpenAPI document at `openapi.json`. Registered under the prefix `/api/v2.0`.
 */
export const harborApi: FastifyPluginAsync<HarborApiOptions> = async (api, options) => {
  const deps: ApiDeps = {
    projects: new ProjectStore(options.db),
    members: new MemberStore(options.db),
    robots: new RobotStore(options.db),
    users: new UserDirectory(options.db),
    audit: new AuditLog(options.db),
    policy: options.access.policy,
    catalog: options.catalog ?? EMPTY_CATALOG,
    isSigned: options.isSigned ?? NOTHING_SIGNED,
  };
  for (const schema of HARBOR_SCHEMAS) api.addSchema(schema);
  api.setErrorHandler((err, request, reply) => replyHarborError(err, request, reply));
  api.setNotFoundHandler((request, reply) =>
    replyHarborError(
      new HarborError("NOT_FOUND", `no API at ${request.method} ${request.url}`),
      request,
      reply,
    ),
  );

  const routes = [
    ...projectRoutes(deps),
    ...metadataRoutes(deps),
    ...memberRoutes(deps),
    ...robotRoutes(deps),
    ...userRoutes(deps),
    ...auditLogRoutes(deps),
    ...repositoryRoutes(deps),
    ...cosignKeyRoutes(deps, new CosignKeyStore(options.db)),
  ];
  for (const route of routes) registerRoute(api, route, options.access.authenticate);
  const document = openApiDocument(routes, api.prefix);
  api.get("/openapi.json", { exposeHeadRoute: false }, async () => document);
};
