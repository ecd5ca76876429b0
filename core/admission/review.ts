/**
 * `admission.k8s.io/v1` AdmissionReview, as kube-apiserver sends it to a webhook and reads the answer.
 * Only the fields the webhook uses are typed; the object under review stays unknown until the workload
 * reader looks into it.
 */
export const ADMISSION_API_VERSION = "admission.k8s.io/v1";

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export type AdmissionOperation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
const OPERATIONS: readonly string[] = ["CREATE", "UPDATE", "DELETE", "CONNECT"];

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: AdmissionOperation;
  userInfo: { username: string };
  /** The workload as it would be stored; null on DELETE. */
  object: unknown;
  /** The workload as it is stored, on UPDATE; null otherwise. */
  oldObject: unknown;
  dryRun: boolean;
}

export interface JsonPatchOperation {
  op: "replace";
  path: string;
  value: string;
}

export interface AdmissionAnswer {
  allowed: boolean;
  /** Why a review was refused; kube-apiserver shows it to whoever applied the workload. */
  message?: string;
  warnings?: string[];
  patch?: JsonPatchOperation[];
}

export class MalformedReviewError extends Error {
  override readonly name = "MalformedReviewError";
}

/** Strictly reads a request body as an AdmissionReview v1 request; anything else is a MalformedReviewError. */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  if (!isObject(body)) throw new MalformedReviewError("the body is not a JSON object");
  if (body.apiVersion !== ADMISSION_API_VERSION)
    throw new MalformedReviewError(`apiVersion must be ${ADMISSION_API_VERSION}`);
  if (body.kind !== "AdmissionReview") throw new MalformedReviewError("kind must be AdmissionReview");
  const request = body.request;
  if (!isObject(request)) throw new MalformedReviewError("request is missing");
  if (typeof request.uid !== "string" || request.uid === "")
    throw new MalformedReviewError("request.uid must be a non-empty string");
  const kind = request.kind;
  if (
    !isObject(kind) ||
    typeof kind.group !== "string" ||
    typeof kind.version !== "string" ||
    typeof kind.kind !== "string"
  )
    throw new MalformedReviewError("request.kind must have group, version and kind");
  if (typeof request.operation !== "string" || !OPERATIONS.includes(request.operation))
    throw new MalformedReviewError(`request.operation must be one of ${OPERATIONS.join(", ")}`);
  const userInfo = request.userInfo;
  if (!isObject(userInfo) || typeof userInfo.username !== "string")
    throw new MalformedReviewError("request.userInfo.username must be a string");
  for (const field of ["name", "namespace", "subResource"] as const) {
    if (request[field] !== undefined && typeof request[field] !== "string")
      throw new MalformedReviewError(`request.${field} must be a string`);
  }
  const object = request.object ?? null;
  if (object !== null && !isObject(object))
    throw new MalformedReviewError("request.object must be an object");
  if (object === null && request.operation !== "DELETE" && request.operation !== "CONNECT")
    throw new MalformedReviewError(`request.object is required for ${request.operation}`);
  const oldObject = request.oldObject ?? null;
  if (oldObject !== null && !isObject(oldObject))
    throw new MalformedReviewError("request.oldObject must be an object");
  return {
    uid: request.uid,
    kind: { group: kind.group, version: kind.version, kind: kind.kind },
    ...(typeof request.subResource === "string" ? { subResource: request.subResource } : {}),
    ...(typeof request.name === "string" ? { name: request.name } : {}),
    ...(typeof request.namespace === "string" ? { namespace: request.namespace } : {}),
    operation: request.operation as AdmissionOperation,
    userInfo: { username: userInfo.username },
    object,
    oldObject,
    dryRun: request.dryRun === true,
  };
}

/** The AdmissionReview kube-apiserver expects back: the request's uid, and a base64 JSONPatch if any. */
export function admissionResponse(uid: string, answer: AdmissionAnswer): object {
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: "AdmissionReview",
    response: {
      uid,
      allowed: answer.allowed,
      ...(answer.allowed
        ? {}
        : { status: { code: 403, reason: "Forbidden", message: answer.message ?? "" } }),
      ...(answer.warnings?.length ? { warnings: answer.warnings } : {}),
      ...(answer.allowed && answer.patch?.length
        ? {
            patchType: "JSONPatch",
            patch: Buffer.from(JSON.stringify(answer.patch)).toString("base64"),
          }
        : {}),
    },
  };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
