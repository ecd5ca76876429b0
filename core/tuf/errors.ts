/**
 * Why a publish was refused. The names are notary's validation error names, which its client decodes
 * from the error detail (`{"Name": "...", "Error": {...}}`), so a refusal reads the same as notary's.
 */
export type TufErrorCode =
  | "ErrBadRoot"
  | "ErrBadTargets"
  | "ErrBadSnapshot"
  | "ErrBadHierarchy"
  | "ErrValidation"
  | "ErrOldVersion"
  | "ErrMalformedJSON"
  | "ErrInvalidRole";

export class TufError extends Error {
  override readonly name = "TufError";
  constructor(
    readonly code: TufErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const badRoot = (msg: string) => new TufError("ErrBadRoot", msg);
export const badTargets = (msg: string) => new TufError("ErrBadTargets", msg);
export const badSnapshot = (msg: string) => new TufError("ErrBadSnapshot", msg);
export const badHierarchy = (msg: string) => new TufError("ErrBadHierarchy", msg);
export const invalid = (msg: string) => new TufError("ErrValidation", msg);
