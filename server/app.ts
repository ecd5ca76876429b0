import multipart from "@fastify/multipart";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import type { CosignVerifier } from "../core/admission/cosign.js";
import { admissionMigrations } from "./admission/migrations.js";
import { registerAdmission } from "./admission/plugin.js";
import { allows } from "./auth/access.js";
import { parseAuthorization } from "./auth/authorization-header.js";
import { createAuthorizer } from "./auth/authorize.js";
import { AuthError, InvalidTokenError } from "./auth/errors.js";
import { authMigrations } from "./auth/migrations.js";
import { tokenRoutes } from "./auth/routes.js";
import { tokenRealm } from "./auth/token-realm.js";
import { TokenService } from "./auth/token-service.js";
import { UserStore } from "./auth/users.js";
import { CosignKeyStore, cosignKeyMigrations } from "./content-trust/cosign-key-store.js";
import { CosignVerdictCache } from "./content-trust/cosign-verdicts.js";
import { ProjectSettingsCache } from "./content-trust/project-settings.js";
import { ContentTrustPullPolicy } from "./content-trust/pull-policy.js";
import {
  invalidatingCosignVerdicts,
  registrySignatureSource,
} from "./content-trust/registry-signature-source.js";
import { V2Router } from "./http/v2-router.js";
import { projectAccessControl } from "./projects/access-control.js";
import { harborApi } from "./projects/api/plugin.js";
import { projectsMigrations } from "./projects/migrations.js";
import { ProjectStore } from "./projects/project-store.js";
import { RegistryAuditTrail } from "./projects/registry-audit.js";
import { catalogAuthorizer } from "./registry/catalog-access.js";
import { replyRegistryError } from "./registry/errors.js";
import { invalidatingCatalog, ManifestCache, manifestChangesMigrations } from "./registry/manifest-cache.js";
import { registryMigrations } from "./registry/migrations.js";
import { pullStatsMigrations } from "./registry/pull-stats.js";
import { registerRegistry } from "./registry/registry.js";
import { RegistryStore } from "./registry/registry-store.js";
import { RegistryRepositoryCatalog } from "./registry/repository-catalog.js";
import { leaveBodiesUnread } from "./registry/request-body.js";
import { BlobStore } from "./storage/blob-store.js";
import type { Db } from "./storage/db.js";
import { migrate } from "./storage/migrations.js";
import { replyNotaryError } from "./trust/errors.js";
import { MetadataStore } from "./trust/metadata-store.js";
import { trustMigrations } from "./trust/migrations.js";
import { registerTrustRoutes } from "./trust/routes.js";
import { SignedDigestIndex } from "./trust/signed-digest-index.js";
import { TrustService, type TrustSigner } from "./trust/trust-service.js";

export interface ServerOptions {
  db: Db;
  signer: TrustSigner;
  /** PEM certificate and key: Trustdock serves HTTPS. Omitted in tests that use `inject`, and behind a proxy. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * Plain HTTP behind a proxy that terminates TLS (`--plain-http`): the token realm follows the proxy's
   * X-Forwarded-Proto and X-Forwarded-Host. Nothing else changes.
   */
  behindTlsProxy?: boolean;
  logger?: boolean;
  /** The clock publishes are validated against; tests replaying a recorded session set it. */
  clock?: () => Date;
  /** The registry's blob files and uploads (`<TRUSTDOCK_DATA_DIR>/blobs`). */
  blobDir: string;
  /** The admission policy file; default TRUSTDOCK_ADMISSION_POLICY. */
  admissionPolicyFile?: string;
  /** Verifies cosign signatures for admission rules that require them; default: against the registry, with the keys. */
  cosignVerifier?: CosignVerifier;
}

export async function migrateServer(db: Db): Promise<void> {
  await migrate(db, "auth", authMigrations);
  await migrate(db, "projects", projectsMigrations);
  await migrate(db, "trust", trustMigrations);
  await migrate(db, "registry", registryMigrations);
  await migrate(db, "admission", admissionMigrations);
  await migrate(db, "registry-pulls", pullStatsMigrations);
  await migrate(db, "registry-changes", manifestChangesMigrations);
  await migrate(db, "cosign-keys", cosignKeyMigrations);
}

/** The HTTPS server: token service, `/v2/` ping, and the Notary trust API. Holds no state of its own. */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  await migrateServer(opts.db);
  const app = Fastify({
    logger: opts.logger ? { level: "info" } : false,
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
  }) as unknown as FastifyInstance; // the https and http instance types differ only in the raw server type
  await app.register(multipart);

  const tokenService = await TokenService.open(opts.db);
  const users = new UserStore(opts.db);
  const access = projectAccessControl(opts.db, users);
  await app.register(tokenRoutes, { tokenService, ...access });

  const realm = (request: FastifyRequest) => tokenRealm(request, opts.behindTlsProxy === true);
  const authorize = createAuthorizer({ tokenService, ...access, realm, service: tokenService.service });
  const challenge = (request: FastifyRequest, scope?: string) =>
    `Bearer realm="${realm(request)}",service="${tokenService.service}"${scope ? `,scope="${scope}"` : ""}`;

  /** Who the request comes from, if its token or Basic credentials are good; null when there are none. */
  const authenticate = async (request: FastifyRequest) => {
    const credentials = parseAuthorization(request.headers.authorization);
    if (credentials.scheme === "bearer") {
      try {
        return { claims: tokenService.verify(credentials.token), user: undefined };
      } catch (err) {
        if (err instanceof InvalidTokenError) return null;
        throw err;
      }
    }
    if (credentials.scheme === "basic") {
      const principal = await access.authenticate(credentials.username, credentials.password);
      if (!principal) return null;
      return { claims: undefined, user: principal.kind === "user" ? principal.user : undefined };
    }
    return null;
  };

  // Clients ping /v2/ first: a 401 with the challenge is how they learn where to get a token.
  app.get("/v2/", async (request, reply) => {
    reply.header("Docker-Distribution-API-Version", "registry/2.0");
    if (!(await authenticate(request))) {
      return replyNotaryError(
        new AuthError("UNAUTHORIZED", "authentication required", challenge(request)),
        request,
        reply,
      );
    }
    return reply.type("application/json; charset=utf-8").send("{}");
  });

  const metadataStore = new MetadataStore(opts.db);
  const trust = new TrustService({
    db: opts.db,
    store: metadataStore,
    signer: opts.signer,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  const router = new V2Router();
  registerTrustRoutes(router, {
    trust,
    authorize,
    authorizeGlobal: async (request) => {
      const who = await authenticate(request);
      const admin =
        who?.user?.isAdmin ||
        (who?.claims && allows(who.claims.access, { type: "registry", name: "catalog" }, ["*"]));
      if (!admin) {
        const code = who ? "DENIED" : "UNAUTHORIZED";
        throw new AuthError(
          code,
          "the changefeed of all repositories is for administrators",
          challenge(request, "registry:catalog:*"),
        );
      }
    },
  });
  const projects = new ProjectStore(opts.db);
  const projectSettings = new ProjectSettingsCache(
    opts.db,
    async (name) => (await projects.findByName(name))?.metadata,
  );
  const signedDigests = new SignedDigestIndex(opts.db, metadataStore);
  const manifestCache = new ManifestCache(opts.db);
  const cosignKeys = new CosignKeyStore(opts.db);
  const cosignVerdicts = new CosignVerdictCache(opts.db, (project) => cosignKeys.listByProjectName(project));
  await Promise.all([
    projectSettings.start(),
    signedDigests.start(),
    manifestCache.start(),
    cosignVerdicts.start(),
  ]);
  await app.register(harborApi, {
    prefix: "/api/v2.0",
    db: opts.db,
    access,
    catalog: invalidatingCatalog(new RegistryRepositoryCatalog(opts.db), manifestCache),
    // Notary signs a digest's hex under the GUN `<registry host:port>/<repository>`, whatever the host.
    isSigned: (repository, digest) =>
      signedDigests.isSigned(repository, digest.slice(digest.indexOf(":") + 1)),
  });
  const auditTrail = new RegistryAuditTrail(opts.db, app.log);
  auditTrail.start();
  app.addHook("onClose", async () => {
    await Promise.all([
      projectSettings.stop(),
      signedDigests.stop(),
      manifestCache.stop(),
      cosignVerdicts.stop(),
      auditTrail.close(),
    ]);
  });
  await registerRegistry(router, {
    db: opts.db,
    blobDir: opts.blobDir,
    authorize,
    authorizeCatalog: catalogAuthorizer(authenticate, challenge),
    pullPolicy: new ContentTrustPullPolicy(
      projectSettings,
      signedDigests,
      registrySignatureSource(new RegistryStore(opts.db), await BlobStore.open(opts.blobDir), opts.db),
      cosignVerdicts,
    ),
    events: invalidatingCosignVerdicts(auditTrail, cosignVerdicts),
    manifestCache,
  });
  await registerAdmission(app, {
    db: opts.db,
    policyFile: opts.admissionPolicyFile ?? process.env.TRUSTDOCK_ADMISSION_POLICY,
    ...(opts.cosignVerifier ? { cosign: opts.cosignVerifier } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  router.setNotFound(replyRegistryError);
  // Only /v2/ leaves bodies to its handlers (blobs stream to disk); other routes keep fastify's parsers.
  app.register(async (v2) => {
    leaveBodiesUnread(v2);
    // fastify's refusals before a handler runs (a malformed Content-Type) in the shape of the API asked.
    v2.setErrorHandler((err, request, reply) =>
      (request.url.includes("/_trust/") ? replyNotaryError : replyRegistryError)(err, request, reply),
    );
    router.register(v2);
  });
  // Errors raised before a handler runs (unparseable body, unsupported media type) get the same shape.
  app.setErrorHandler((err, request, reply) => replyNotaryError(err, request, reply));
  return app;
}
