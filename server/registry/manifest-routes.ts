import { manifestLocation } from "./locations.js";
import { OCI_INDEX } from "./manifest-format.js";
import { parseReference } from "./registry-service.js";
import { readManifestBody } from "./request-body.js";
import { checkedDigest, checkedName, mediaTypeOf, queryParam } from "./request-input.js";
import type { AddRegistryRoute, RegistryRoutesOptions } from "./routes.js";

/** Manifests by tag or digest, and the referrers of a manifest. */
export function registerManifestRoutes(add: AddRegistryRoute, opts: RegistryRoutesOptions): void {
  const { registry, authorize, events } = opts;

  add(["GET", "HEAD", "PUT", "DELETE"], /^(.+)\/manifests\/([^/]+)$/, async (request, reply, match) => {
    const name = checkedName(match[1]);
    switch (request.method) {
      case "PUT": {
        const { subject: actor } = await authorize(request, name, ["pull", "push"]);
        const reference = parseReference(match[2] ?? "");
        const body = await readManifestBody(request);
        const { digest, subject } = await registry.putManifest(name, reference, body, mediaTypeOf(request));
        await events?.pushed({ actor, repository: name, digest, ...("tag" in reference ? reference : {}) });
        if (subject !== undefined) reply.header("OCI-Subject", subject);
        return reply
          .code(201)
          .headers({ Location: manifestLocation(name, digest), "Docker-Content-Digest": digest })
          .send();
      }
      case "DELETE": {
        const { subject: actor } = await authorize(request, name, ["delete"]);
        const reference = parseReference(match[2] ?? "");
        await registry.deleteManifest(name, reference);
        await events?.deleted({
          actor,
          repository: name,
          reference: "tag" in reference ? reference : { digest: reference.digest.value },
        });
        return reply.code(202).send();
      }
      default: {
        const { subject: actor } = await authorize(request, name, ["pull"]);
        const reference = parseReference(match[2] ?? "");
        const manifest = await registry.manifest(name, reference);
        if (request.method === "GET")
          events?.pulled({
            actor,
            repository: name,
            digest: manifest.digest,
            ...("tag" in reference ? reference : {}),
          });
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
