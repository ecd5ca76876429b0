import { ref } from "./schemas.js";

/** Harbor's error responses, each with the Errors body. */
export const ERRORS = {
  400: { description: "Bad request: the body or the query parameters are invalid.", schema: ref("Errors") },
  401: { description: "Unauthorized: credentials are missing or wrong.", schema: ref("Errors") },
  403: { description: "Forbidden: the caller may not do this.", schema: ref("Errors") },
  404: { description: "Not found.", schema: ref("Errors") },
  409: { description: "Conflict: the resource exists already.", schema: ref("Errors") },
  412: { description: "Precondition failed.", schema: ref("Errors") },
} as const;

export const OK = { description: "Success" } as const;
