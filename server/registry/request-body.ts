import type { FastifyInstance, FastifyRequest } from "fastify";
import { RegistryError } from "./errors.js";
import { MAX_MANIFEST_BYTES } from "./manifest-format.js";

/**
 * Leaves request bodies unread for the handlers of the scope, which stream blobs to disk and read
 * manifests within their limit themselves; multipart (the trust API's publishes) keeps its parser.
 * Register it only on the scope that serves `/v2/`: other APIs keep fastify's JSON and text parsing.
 */
export function leaveBodiesUnread(scope: FastifyInstance): void {
  scope.removeContentTypeParser(["application/json", "text/plain"]);
  scope.addContentTypeParser("*", (_request, _payload, done) => done(null));
}

/** Whether the request carries a body (a last chunk on a PUT, say), by its framing headers. */
export function hasBody(request: FastifyRequest): boolean {
  const length = request.headers["content-length"];
  return request.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** A manifest body, refused with 413 as soon as it is known to pass the manifest limit. */
export async function readManifestBody(request: FastifyRequest): Promise<Buffer> {
  const tooLarge = () =>
    new RegistryError("MANIFEST_INVALID", `a manifest may not exceed ${MAX_MANIFEST_BYTES} bytes`, {
      status: 413,
      // The rest of the body is not read: the connection cannot carry another request.
      headers: { Connection: "close" },
    });
  if (Number(request.headers["content-length"] ?? 0) > MAX_MANIFEST_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of request.raw.iterator({ destroyOnReturn: false })) {
      total += (chunk as Buffer).length;
      if (total > MAX_MANIFEST_BYTES) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new RegistryError("MANIFEST_INVALID", "the request body ended before its length");
  }
  return Buffer.concat(chunks);
}
