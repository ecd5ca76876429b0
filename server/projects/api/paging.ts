import type { FastifyReply, FastifyRequest } from "fastify";
import type { PageRequest } from "../page.js";

/** The `page` and `page_size` query parameters, validated by the PageNumber and PageSize schemas. */
export interface PagingQuery {
  readonly page?: number;
  readonly page_size?: number;
}

const DEFAULT_PAGE_SIZE = 10;

export interface Paging {
  readonly page: number;
  readonly pageSize: number;
  readonly request: PageRequest;
}

/** Harbor's defaults: the first page, ten to a page. */
export function pagingOf(query: PagingQuery): Paging {
  const page = query.page ?? 1;
  const pageSize = query.page_size ?? DEFAULT_PAGE_SIZE;
  return { page, pageSize, request: { offset: (page - 1) * pageSize, limit: pageSize } };
}

/**
 * The `Link` header of a page, as Harbor writes it: this request's path and query with `page` (and
 * `page_size`) set to the previous and next pages, `<url>; rel="prev" , <url>; rel="next"`.
 */
function pageLinks(requestUrl: string, total: number, { page, pageSize }: Paging): string {
  const link = (target: number, rel: string) => {
    const url = new URL(requestUrl, "http://localhost");
    url.searchParams.set("page", String(target));
    url.searchParams.set("page_size", String(pageSize));
    // Harbor unescapes the query it writes back.
    return `<${url.pathname}?${decodeURIComponent(url.searchParams.toString())}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page > 1 && (page - 1) * pageSize < total) links.push(link(page - 1, "prev"));
  if (page * pageSize < total) links.push(link(page + 1, "next"));
  return links.join(" , ");
}

/** Sets `X-Total-Count` and, when there are other pages, `Link`. */
export function sendPageHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  total: number,
  paging: Paging,
): void {
  reply.header("X-Total-Count", String(total));
  const links = pageLinks(request.url, total, paging);
  if (links) reply.header("Link", links);
}
