import type { FastifyRequest } from "fastify";
import type { Authorize } from "../auth/authorize.js";
import type { V2Router } from "../http/v2-router.js";
import { BlobStore } from "../storage/blob-store.js";
import type { Db } from "../storage/db.js";
import { BlobUploads } from "./blob-uploads.js";
import type { ManifestCache } from "./manifest-cache.js";
import type { PullPolicy } from "./pull-policy.js";
import type { RegistryEvents } from "./registry-events.js";
import { RegistryService } from "./registry-service.js";
import { RegistryStore } from "./registry-store.js";
import { registerRegistryRoutes } from "./routes.js";

export interface RegistryOptions {
  readonly db: Db;
  /** Where blob files and unfinished uploads live; shared by every server process on the database. */
  readonly blobDir: string;
  readonly authorize: Authorize;
  readonly authorizeCatalog: (request: FastifyRequest) => Promise<unknown>;
  /** Consulted before any manifest is served (GET and HEAD, by tag or digest). */
  readonly pullPolicy?: PullPolicy;
  /** Told of manifest pushes, pulls and deletions, as the audit log records them. */
  readonly events?: RegistryEvents;
  /** Manifests by reference, kept while no process changes their repository; started by the caller. */
  readonly manifestCache?: ManifestCache;
}

/** The OCI registry over the database and the blob folder, its routes added to the `/v2/` router. */
export async function registerRegistry(router: V2Router, opts: RegistryOptions): Promise<void> {
  const store = new RegistryStore(opts.db);
  const blobs = await BlobStore.open(opts.blobDir);
  registerRegistryRoutes(router, {
    registry: new RegistryService(store, blobs, opts.pullPolicy, opts.manifestCache),
    uploads: new BlobUploads(store, blobs),
    authorize: opts.authorize,
    authorizeCatalog: opts.authorizeCatalog,
    ...(opts.events ? { events: opts.events } : {}),
  });
}
