import type { FastifyReply, FastifyRequest } from "fastify";
import { TufError } from "../../core/tuf/errors.js";
import { AuthError } from "../auth/errors.js";
import { MethodNotAllowedError, RouteNotFoundError } from "../http/v2-router.js";
import { SignerUnavailableError } from "../signer-client.js";
import { DatabaseUnavailableError } from "../storage/db.js";
import { MetadataNotFoundError } from "./trust-service.js";

/** A refusal of the trust API that is not a TUF validation error (bad GUN, bad upload, ...). */
export class NotaryRequestError extends Error {
  override readonly name = "NotaryRequestError";
  constructor(
    readonly code: "INVALID_GUN" | "MALFORMED_UPLOAD" | "INVALID_ROLE" | "INVALID_PARAMETERS",
    message: string,
    readonly status: number = 400,
  ) {
    super(message);
  }
}

interface NotaryError {
  status: number;
  code: string;
  message: string;
  detail: unknown;
}

// Notary's errcode messages, word for word: its client shows them to the user.
const MESSAGES: Record<string, string> = {
  METADATA_NOT_FOUND: "You have requested metadata that does not exist.",
  INVALID_UPDATE: "Update sent by the client is invalid.",
  VERSION: "A newer version of metadata is already available.",
  MALFORMED_JSON: "JSON sent by the client could not be parsed.",
  INVALID_ROLE: "The role you are attempting to operate on is invalid.",
  MALFORMED_UPLOAD: "The body of your request is malformed.",
  GENERIC_NOT_FOUND: "You have requested a resource that does not exist.",
  INVALID_GUN: "The server does not support actions on images of this name.",
  INVALID_PARAMETERS: "The parameters provided are not valid.",
  UNAVAILABLE: "service unavailable",
  UNKNOWN: "unknown error",
};

function classify(err: unknown): NotaryError {
  const of = (status: number, code: string, detail: unknown = {}, message = MESSAGES[code] ?? code) => ({
    status,
    code,
    message,
    detail,
  });
  if (err instanceof TufError) {
    switch (err.code) {
      case "ErrOldVersion":
        return of(400, "VERSION", { Msg: err.message });
      case "ErrMalformedJSON":
        return of(400, "MALFORMED_JSON", { Msg: err.message });
      case "ErrInvalidRole":
        return of(400, "INVALID_ROLE", { Msg: err.message });
      default:
        // The shape of notary's SerializableError, which its client decodes to explain the refusal.
        return of(400, "INVALID_UPDATE", { Name: err.code, Error: { Msg: err.message } });
    }
  }
  if (err instanceof NotaryRequestError) return of(err.status, err.code, { Msg: err.message });
  if (err instanceof MetadataNotFoundError) return of(404, "METADATA_NOT_FOUND");
  if (err instanceof RouteNotFoundError) return of(404, "GENERIC_NOT_FOUND");
  if (err instanceof MethodNotAllowedError)
    return of(405, "UNSUPPORTED", {}, "The operation is unsupported.");
  if (err instanceof AuthError) return of(err.status, err.code, null, err.message);
  if (err instanceof SignerUnavailableError)
    return of(
      503,
      "UNAVAILABLE",
      { Msg: "the signing service is unreachable; try again shortly" },
      "signer unavailable",
    );
  if (err instanceof DatabaseUnavailableError)
    return of(
      503,
      "UNAVAILABLE",
      { Msg: "the database is unreachable; try again shortly" },
      "storage unavailable",
    );
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === "number" && status >= 400 && status < 500)
    return of(status, "MALFORMED_UPLOAD", { Msg: (err as Error).message });
  return of(500, "UNKNOWN");
}

/** Every trust API error leaves through here, as notary's errcode JSON. */
export function replyNotaryError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = classify(err);
  if (e.status >= 500 && e.status !== 503) request.log.error({ err }, "trust API failure");
  else request.log.info({ code: e.code, reason: (err as Error).message }, "trust API refusal");
  if (err instanceof AuthError) reply.header("WWW-Authenticate", err.challenge);
  return (
    reply
      .code(e.status)
      .type("application/json; charset=utf-8")
      // Go's encoder ends the body with a newline; keeping it makes the body notary's byte for byte.
      .send(`${JSON.stringify({ errors: [{ code: e.code, message: e.message, detail: e.detail }] })}\n`)
  );
}
