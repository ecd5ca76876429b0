import { auditScope } from "../../auth/access.js";
import type { AuditRecord } from "../audit-log.js";
import { refusal } from "./caller.js";
import type { ApiDeps } from "./deps.js";
import { type PagingQuery, pagingOf, sendPageHeaders } from "./paging.js";
import { ERRORS } from "./responses.js";
import type { ApiRoute } from "./route.js";
import { ref } from "./schemas.js";

/** Harbor's AuditLog. */
function auditView(record: AuditRecord) {
  return {
    id: record.id,
    username: record.username,
    resource: record.resource,
    resource_type: record.resourceType,
    operation: record.operation,
    op_time: record.opTime.toISOString(),
  };
}

export function auditLogRoutes(deps: ApiDeps): ApiRoute[] {
  const list: ApiRoute<unknown, PagingQuery> = {
    method: "GET",
    url: "/audit-logs",
    operationId: "listAuditLogs",
    summary:
      "All audit entries for the system admin, those of the projects they administer for others; newest first.",
    tag: "auditlog",
    querystring: ref("PagingQuery"),
    responses: {
      200: {
        description: "Success",
        schema: { type: "array", items: ref("AuditLog") },
        headers: ["X-Total-Count", "Link"],
      },
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
    },
    async handle({ query, principal, request, reply }) {
      const scope = auditScope(principal);
      if (!scope) throw refusal(principal);
      const paging = pagingOf(query);
      const page = await deps.audit.list(scope, paging.request);
      sendPageHeaders(request, reply, page.total, paging);
      return page.items.map(auditView);
    },
  };
  return [list];
}
