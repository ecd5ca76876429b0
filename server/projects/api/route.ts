import type { FastifyReply, FastifyRequest } from "fastify";
import type { Principal } from "../../auth/access.js";

export interface ApiResponse {
  readonly description: string;
  /** The body's schema; none: the response has no body. */
  readonly schema?: object;
  /** Headers the response sets, as Harbor documents them. */
  readonly headers?: readonly ("Location" | "X-Total-Count" | "Link")[];
}

/** What a handler gets: the validated request parts and who is calling. */
export interface ApiCall<P, Q, B, H> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** The request's headers, those in the route's `headers` schema validated and coerced. */
  readonly headers: H;
  readonly principal: Principal;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
}

/**
 * One operation of the Harbor API: fastify registers it with these schemas, and the OpenAPI document is
 * generated from the same definition.
 */
export interface ApiRoute<P = unknown, Q = unknown, B = unknown, H = unknown> {
  readonly method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Under the API's prefix, in fastify's syntax: `/projects/:project_name_or_id`. */
  readonly url: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  readonly params?: object;
  readonly querystring?: object;
  readonly headers?: object;
  readonly body?: object;
  readonly responses: Readonly<Record<number, ApiResponse>>;
  /** The response body (undefined: none); a status other than 200 and headers are set on `call.reply`. */
  handle(call: ApiCall<P, Q, B, H>): Promise<unknown>;
}
