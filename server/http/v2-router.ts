import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from "fastify";

/** How one protocol (trust API, registry API) turns any error into its own error body. */
export type ErrorReplier = (err: unknown, request: FastifyRequest, reply: FastifyReply) => FastifyReply;

export interface V2Route {
  methods: readonly HTTPMethods[];
  /** Matched against the path after `/v2/` (no query string). */
  pattern: RegExp;
  handler: (request: FastifyRequest, reply: FastifyReply, match: RegExpExecArray) => Promise<FastifyReply>;
  onError: ErrorReplier;
}

/**
 * Trust API and registry API share `/v2/`, and their repository names contain slashes, which fastify's
 * router can only match as a trailing wildcard. So one wildcard route dispatches on these patterns and
 * each route maps its errors to its own protocol's body.
 */
export class V2Router {
  private readonly routes: V2Route[] = [];
  private fallback: ErrorReplier | undefined;

  add(route: V2Route): void {
    this.routes.push(route);
  }

  /** How requests that match no route are answered (a 404 in the registry's shape, once it exists). */
  setNotFound(replier: ErrorReplier): void {
    this.fallback = replier;
  }

  register(app: FastifyInstance): void {
    app.route({
      method: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
      url: "/v2/*",
      handler: async (request, reply) => {
        const path = (request.params as { "*": string })["*"];
        let methodMismatch = false;
        for (const route of this.routes) {
          const match = route.pattern.exec(path);
          if (!match) continue;
          if (!route.methods.includes(request.method as HTTPMethods)) {
            methodMismatch = true;
            continue;
          }
          try {
            return await route.handler(request, reply, match);
          } catch (err) {
            return route.onError(err, request, reply);
          }
        }
        const err = methodMismatch ? new MethodNotAllowedError(request.method) : new RouteNotFoundError(path);
        if (this.fallback) return this.fallback(err, request, reply);
        return reply.code(methodMismatch ? 405 : 404).send();
      },
    });
  }
}

export class RouteNotFoundError extends Error {
  override readonly name = "RouteNotFoundError";
}

export class MethodNotAllowedError extends Error {
  override readonly name = "MethodNotAllowedError";
}
