import type { FastifyInstance, FastifySchema } from "fastify";
import type { AuthenticateBasic } from "../../auth/access.js";
import { callerOf } from "./caller.js";
import type { ApiRoute } from "./route.js";
import { dereference } from "./schemas.js";

/**
 * Registers `route` with its schemas. Harbor writes some collection paths with a trailing slash
 * (`/metadatas/`); those also answer without it.
 */
export function registerRoute(api: FastifyInstance, route: ApiRoute, authenticate: AuthenticateBasic): void {
  const response = Object.fromEntries(
    Object.entries(route.responses).flatMap(([status, r]) => (r.schema ? [[status, r.schema]] : [])),
  );
  const schema: FastifySchema = {
    ...(route.params ? { params: route.params } : {}),
    ...(route.querystring ? { querystring: route.querystring } : {}),
    // fastify lower-cases the header names of inline schemas only.
    ...(route.headers ? { headers: dereference(route.headers) } : {}),
    ...(route.body ? { body: route.body } : {}),
    response,
  };
  const urls = route.url.endsWith("/") ? [route.url, route.url.slice(0, -1)] : [route.url];
  for (const url of urls) {
    api.route({
      method: route.method,
      url,
      schema,
      // HEAD /projects is an operation of its own; no other GET answers HEAD.
      exposeHeadRoute: false,
      handler: async (request, reply) => {
        const principal = await callerOf(request, authenticate);
        const body = await route.handle({
          params: request.params,
          query: request.query,
          body: request.body,
          headers: request.headers,
          principal,
          request,
          reply,
        });
        return reply.send(body);
      },
    });
  }
}
