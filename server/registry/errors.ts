import type { FastifyReply, FastifyRequest } from "fastify";
import { AuthError } from "../auth/errors.js";
import { MethodNotAllowedError, RouteNotFoundError } from "../http/v2-router.js";
import { DatabaseUnavailableError } from "../storage/db.js";
import { PullPolicyError } from "./pull-policy.js";

/** The distribution spec's error codes, plus distribution's TAG_INVALID and PAGINATION_NUMBER_INVALID. */
export type RegistryErrorCode =
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "DIGEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "MANIFEST_INVALID"
  | "MANIFEST_UNKNOWN"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "SIZE_INVALID"
  | "TAG_INVALID"
  | "PAGINATION_NUMBER_INVALID"
  | "UNSUPPORTED";

const STATUS: Record<RegistryErrorCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  TAG_INVALID: 400,
  PAGINATION_NUMBER_INVALID: 400,
  UNSUPPORTED: 405,
};

/** A refusal of the registry API; `status` and `headers` override the code's defaults where the spec does. */
export class RegistryError extends Error {
  override readonly name = "RegistryError";
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    options: { detail?: unknown; status?: number; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = options.status ?? STATUS[code];
    this.detail = options.detail ?? null;
    this.headers = options.headers ?? {};
  }
}

/**
 * The access refused, as distribution's detail has it. Docker needs a detail here: an error with none and
 * the code's stock message it reads as a bare code, which it prints alone ("denied") and retries a push on.
 */
function accessRecords(err: AuthError): unknown {
  if (!err.access) return null;
  const { type, name, actions } = err.access;
  return actions.map((action) => ({ Type: type, Class: "", Name: name, Action: action }));
}

interface Classified {
  status: number;
  code: string;
  message: string;
  detail: unknown;
  headers: Readonly<Record<string, string>>;
}

function classify(err: unknown): Classified {
  const of = (status: number, code: string, message: string, detail: unknown = null, headers = {}) => ({
    status,
    code,
    message,
    detail,
    headers,
  });
  if (err instanceof RegistryError) return of(err.status, err.code, err.message, err.detail, err.headers);
  if (err instanceof AuthError)
    return of(err.status, err.code, err.message, accessRecords(err), { "WWW-Authenticate": err.challenge });
  if (err instanceof PullPolicyError) return of(412, err.code, err.message, err.detail);
  if (err instanceof RouteNotFoundError) return of(404, "UNSUPPORTED", "no such registry endpoint");
  if (err instanceof MethodNotAllowedError) return of(405, "UNSUPPORTED", "the operation is unsupported");
  if (err instanceof DatabaseUnavailableError)
    return of(503, "UNAVAILABLE", "the database is unreachable; try again shortly");
  // fastify's own refusals before a handler runs (a malformed Content-Type, say) are the client's.
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === "number" && status >= 400 && status < 500)
    return of(status, "UNSUPPORTED", (err as Error).message);
  return of(500, "UNKNOWN", "unknown error");
}

/** Every registry API error leaves through here, as the distribution spec's error JSON. */
export function replyRegistryError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = classify(err);
  if (e.status >= 500 && e.status !== 503) request.log.error({ err }, "registry API failure");
  else request.log.info({ code: e.code, reason: (err as Error).message }, "registry API refusal");
  reply.headers({ ...REGISTRY_HEADERS, ...e.headers });
  return reply
    .code(e.status)
    .type("application/json; charset=utf-8")
    .send(JSON.stringify({ errors: [{ code: e.code, message: e.message, detail: e.detail }] }));
}

/** What every registry response carries, errors included. */
export const REGISTRY_HEADERS = { "Docker-Distribution-API-Version": "registry/2.0" } as const;
