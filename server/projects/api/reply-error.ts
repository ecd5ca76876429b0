import type { FastifyReply, FastifyRequest } from "fastify";
import { DatabaseUnavailableError } from "../../storage/db.js";
import { HARBOR_STATUS, HarborError, type HarborErrorCode } from "../errors.js";

interface Classified {
  readonly status: number;
  readonly code: HarborErrorCode;
  readonly message: string;
}

const CODE_OF_STATUS = new Map<number, HarborErrorCode>(
  Object.entries(HARBOR_STATUS).map(([code, status]) => [status, code as HarborErrorCode]),
);

function classify(err: unknown): Classified {
  if (err instanceof HarborError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof DatabaseUnavailableError) {
    return {
      status: 503,
      code: "SERVICE_UNAVAILABLE",
      message: "the database is unreachable; try again shortly",
    };
  }
  // fastify's own refusals (schema validation, unparseable or unsupported bodies) carry a 4xx status.
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return { status, code: CODE_OF_STATUS.get(status) ?? "BAD_REQUEST", message: (err as Error).message };
  }
  return { status: 500, code: "INTERNAL_SERVER_ERROR", message: "internal server error" };
}

/** Every error of the Harbor API leaves through here, as Harbor's `{"errors":[{"code","message"}]}`. */
export function replyHarborError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = classify(err);
  if (e.status === 500) request.log.error({ err }, "Harbor API failure");
  else request.log.info({ code: e.code, reason: e.message }, "Harbor API refusal");
  return reply
    .code(e.status)
    .type("application/json; charset=utf-8")
    .send({ errors: [{ code: e.code, message: e.message }] });
}
