/** Harbor's error codes, each with the HTTP status Harbor answers it with. */
export const HARBOR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PRECONDITION: 412,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type HarborErrorCode = keyof typeof HARBOR_STATUS;

/** A refusal of the projects API; `code` is what the client reads, the status follows from it. */
export class HarborError extends Error {
  override readonly name = "HarborError";

  constructor(
    readonly code: HarborErrorCode,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return HARBOR_STATUS[this.code];
  }
}

/** Whether `err` is the database refusing a duplicate key (both drivers report PostgreSQL's SQLSTATE). */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "23505";
}
