import type { FastifyRequest } from "fastify";

/**
 * The token endpoint's URL as the client reaches it: the challenge's `realm`. Trustdock serving HTTPS
 * itself: `https://<Host>`. Serving plain HTTP behind a proxy that terminates TLS (`behindProxy`): the
 * scheme and host the proxy says the client used (X-Forwarded-Proto, X-Forwarded-Host), else
 * `http://<Host>`. The forwarded headers are read only then: any client could send them, and only a
 * deployment that put a proxy in front has one that sets them.
 */
export function tokenRealm(request: FastifyRequest, behindProxy: boolean): string {
  const host = request.headers.host ?? "localhost";
  if (!behindProxy) return `https://${host}/service/token`;
  const proto = firstValue(request.headers["x-forwarded-proto"])?.toLowerCase();
  const scheme = proto === "https" || proto === "http" ? proto : "http";
  const forwardedHost = firstValue(request.headers["x-forwarded-host"]);
  return `${scheme}://${forwardedHost && HOST.test(forwardedHost) ? forwardedHost : host}/service/token`;
}

// A host name or address with an optional port: nothing that could end the realm's quoted string.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/;

/** The first of a header's values: proxies in a chain append theirs, and the first is the client's. */
function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(",")[0]?.trim() || undefined;
}
