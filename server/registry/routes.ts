import type { FastifyReply, FastifyRequest, HTTPMethods } from "fastify";
import type { Authorize } from "../auth/authorize.js";
import type { V2Router } from "../http/v2-router.js";
import { registerBlobRoutes } from "./blob-routes.js";
import type { BlobUploads } from "./blob-uploads.js";
import { REGISTRY_HEADERS, replyRegistryError } from "./errors.js";
import { registerListingRoutes } from "./listing-routes.js";
import { registerManifestRoutes } from "./manifest-routes.js";
import type { RegistryEvents } from "./registry-events.js";
import type { RegistryService } from "./registry-service.js";

export interface RegistryRoutesOptions {
  readonly registry: RegistryService;
  readonly uploads: BlobUploads;
  readonly authorize: Authorize;
  /** Authorizes the catalog, which spans every repository. */
  readonly authorizeCatalog: (request: FastifyRequest) => Promise<unknown>;
  /** Told of manifest pushes, pulls and deletions (the audit log); none: nobody is told. */
  readonly events?: RegistryEvents;
}

export type RegistryHandler = (
  request: FastifyRequest,
  reply: FastifyReply,
  match: RegExpExecArray,
) => Promise<FastifyReply>;

/** Adds one registry route: `pattern` matches the path after `/v2/`, whose first group is the name. */
export type AddRegistryRoute = (
  methods: readonly HTTPMethods[],
  pattern: RegExp,
  handler: RegistryHandler,
) => void;

/** The OCI distribution spec v1.1 API on the shared `/v2/` router, with the spec's error bodies. */
export function registerRegistryRoutes(router: V2Router, opts: RegistryRoutesOptions): void {
  const add: AddRegistryRoute = (methods, pattern, handler) =>
    router.add({
      methods,
      pattern,
      onError: replyRegistryError,
      handler: (request, reply, match) => handler(request, reply.headers(REGISTRY_HEADERS), match),
    });
  registerBlobRoutes(add, opts);
  registerManifestRoutes(add, opts);
  registerListingRoutes(add, opts);
}
