import type { FastifyReply } from "fastify";
import type { Page } from "./registry-service.js";
import { checkedName, pageSize, queryParam } from "./request-input.js";
import type { AddRegistryRoute, RegistryRoutesOptions } from "./routes.js";

/** Tag lists and the catalog, in byte order, paged with `n` and `last` and a `Link` to the next page. */
export function registerListingRoutes(add: AddRegistryRoute, opts: RegistryRoutesOptions): void {
  const { registry, authorize, authorizeCatalog } = opts;

  add(["GET"], /^(.+)\/tags\/list$/, async (request, reply, match) => {
    const name = checkedName(match[1]);
    await authorize(request, name, ["pull"]);
    const n = pageSize(request);
    const page = await registry.tags(name, n, queryParam(request, "last"));
    return listing(reply, `/v2/${name}/tags/list`, n, page).send(JSON.stringify({ name, tags: page.items }));
  });

  add(["GET"], /^_catalog$/, async (request, reply) => {
    await authorizeCatalog(request);
    const n = pageSize(request);
    const page = await registry.catalog(n, queryParam(request, "last"));
    return listing(reply, "/v2/_catalog", n, page).send(JSON.stringify({ repositories: page.items }));
  });
}

function listing(reply: FastifyReply, path: string, n: number | undefined, page: Page): FastifyReply {
  if (n !== undefined && page.next !== undefined)
    reply.header("Link", `<${path}?n=${n}&last=${encodeURIComponent(page.next)}>; rel="next"`);
  return reply.type("application/json");
}
