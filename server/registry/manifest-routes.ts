import { manifestLocation } from "./locations.js";
import { OCI_INDEX } from "./manifest-format.js";
import { parseReference } from "./registry-service.js";
import { readManifestBody } from "./request-body.js";
import { checkedDigest, checkedName, mediaTypeOf, queryParam } from "./request-input.js";
import type { AddRegistryRoute, RegistryRoutesOptions } from "./routes.js";

/** Manifests by tag or digest, and the referrers of a manifest. */
export function registerManifestRoutes(add: AddRegistryRoute, opts: RegistryRoutesOptions): void {
  const { registry, authorize } = opts;

  add(["GET", "HEAD", "PUT", "DELETE"], /^(.+)\/manifests\/([^/]+)$/, async (request, reply, match) => {
    const name = checkedName(match[1]);
    switch (request.method) {
      case "PUT": {
        await authorize(request, name, ["pull", "push"]);
        const reference = parseReference(match[2] ?? "");
        const body = await readManifestBody(request);
        const { digest, subject } = await registry.putManifest(name, reference, body, mediaTypeOf(request));
        if (subject !== undefined) reply.header("OCI-Subject", subject);
        return reply
          .code(201)
          .headers({ Location: manifestLocation(name, digest), "Docker-Content-Digest": digest })
          .send();
      }
      case "DELETE":
        await authorize(request, name, ["delete"]);
        await registry.deleteManifest(name, parseReference(match[2] ?? ""));
        return reply.code(202).send();
      default: {
        await authorize(request, name, ["pull"]);
        const manifest = await registry.manifest(name, parseReference(match[2] ?? ""));
        reply.type(manifest.mediaType).headers({
          "Docker-Content-Digest": manifest.digest,
          ETag: `"${manifest.digest}"`,
          "Content-Length": String(manifest.content.byteLength),
        });
        if (request.method === "HEAD") return reply.send();
        const { buffer, byteOffset, byteLength } = manifest.content;
        return reply.send(Buffer.from(buffer, byteOffset, byteLength));
      }
    }
  });

  add(["GET"], /^(.+)\/referrers\/([^/]+)$/, async (request, reply, match) => {
    const name = checkedName(match[1]);
    await authorize(request, name, ["pull"]);
    const subject = checkedDigest(match[2]);
    const artifactType = queryParam(request, "artifactType");
    const index = await registry.referrers(name, subject, artifactType);
    if (artifactType !== undefined) reply.header("OCI-Filters-Applied", "artifactType");
    // A Buffer, not a string: fastify would add a charset to the index's media type.
    return reply.type(OCI_INDEX).send(Buffer.from(JSON.stringify(index)));
  });
}
