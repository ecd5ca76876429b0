import type { FileHandle } from "node:fs/promises";
import type { OutgoingHttpHeaders } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { AuthError } from "../auth/errors.js";
import { sendFileRange } from "../storage/file-sender.js";
import { type Chunk, rangeNotSatisfiable, receivedRange, type UploadState } from "./blob-uploads.js";
import { parseDigest } from "./digest.js";
import { blobLocation, uploadLocation } from "./locations.js";
import { isRepositoryName } from "./names.js";
import { hasBody } from "./request-body.js";
import { byteRange, checkedDigest, checkedName, chunkRange, queryParam } from "./request-input.js";
import type { AddRegistryRoute, RegistryRoutesOptions } from "./routes.js";

// Blobs are immutable: a client may keep one as long as it likes.
const BLOB_CACHE = "max-age=31536000";

/** Blob reads and deletes, uploads (monolithic, chunked, resumable) and cross-repository mounts. */
export function registerBlobRoutes(add: AddRegistryRoute, opts: RegistryRoutesOptions): void {
  const { registry, uploads, authorize } = opts;

  const mayPull = (request: FastifyRequest, name: string) =>
    authorize(request, name, ["pull"]).then(
      () => true,
      (err: unknown) => {
        if (err instanceof AuthError) return false;
        throw err;
      },
    );

  /** The request body as an upload chunk; a Content-Range that cannot be honoured is a 416 at once. */
  const chunk = async (request: FastifyRequest, name: string, id: string): Promise<Chunk> => {
    const range = chunkRange(request);
    if (range === "unreadable") throw rangeNotSatisfiable(name, id, (await uploads.status(name, id)).size);
    return { body: request.raw, range };
  };

  add(["POST"], /^(.+)\/blobs\/uploads\/?$/, async (request, reply, match) => {
    const name = checkedName(match[1]);
    await authorize(request, name, ["pull", "push"]);
    const mount = parseDigest(queryParam(request, "mount") ?? "");
    const from = queryParam(request, "from");
    // A mount that cannot happen (no such blob there, or the caller may not read it) is an upload instead.
    if (
      mount &&
      from !== undefined &&
      isRepositoryName(from) &&
      (await mayPull(request, from)) &&
      (await uploads.mount(name, from, mount))
    )
      return created(reply, name, mount.value);
    const digest = queryParam(request, "digest");
    if (digest !== undefined) {
      const parsed = checkedDigest(digest);
      await uploads.putMonolithic(name, parsed, request.raw);
      return created(reply, name, parsed.value);
    }
    return uploadState(reply.code(202), name, await uploads.start(name));
  });

  add(["GET", "PATCH", "PUT", "DELETE"], /^(.+)\/blobs\/uploads\/([^/]+)$/, async (request, reply, match) => {
    const name = checkedName(match[1]);
    const id = match[2] ?? "";
    await authorize(request, name, ["pull", "push"]);
    switch (request.method) {
      case "GET":
        return uploadState(reply.code(204), name, await uploads.status(name, id));
      case "PATCH":
        return uploadState(
          reply.code(202),
          name,
          await uploads.append(name, id, await chunk(request, name, id)),
        );
      case "PUT": {
        const digest = checkedDigest(queryParam(request, "digest"));
        const last = hasBody(request) ? await chunk(request, name, id) : undefined;
        await uploads.finish(name, id, digest, last);
        return created(reply, name, digest.value);
      }
      default:
        await uploads.cancel(name, id);
        return reply.code(204).send();
    }
  });

  add(["GET", "HEAD", "DELETE"], /^(.+)\/blobs\/([^/]+)$/, async (request, reply, match) => {
    const name = checkedName(match[1]);
    if (request.method === "DELETE") {
      await authorize(request, name, ["delete"]);
      await registry.deleteBlob(name, checkedDigest(match[2]));
      return reply.code(202).send();
    }
    await authorize(request, name, ["pull"]);
    const digest = checkedDigest(match[2]);
    const size = await registry.blobSize(name, digest);
    reply.headers({
      "Content-Type": "application/octet-stream",
      "Docker-Content-Digest": digest.value,
      ETag: `"${digest.value}"`,
      "Accept-Ranges": "bytes",
      "Cache-Control": BLOB_CACHE,
    });
    if (request.method === "HEAD") return reply.header("Content-Length", String(size)).send();
    const range = byteRange(request, size);
    const file = await registry.openBlob(digest);
    if (range) reply.code(206).header("Content-Range", `bytes ${range.start}-${range.end}/${size}`);
    const { start, end } = range ?? { start: 0, end: size - 1 };
    return sendBlob(reply.header("Content-Length", String(end - start + 1)), file, start, end);
  });
}

/**
 * The blob's bytes `start` to `end` as the body, written straight to the connection (sendFileRange reuses
 * its buffers, which it can only do knowing when the socket is done with each). Once the headers are out, a
 * failure can only cut the connection, as with any streamed body.
 */
async function sendBlob(
  reply: FastifyReply,
  file: FileHandle,
  start: number,
  end: number,
): Promise<FastifyReply> {
  reply.hijack();
  const res = reply.raw;
  try {
    res.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
    if (end >= start) await sendFileRange(file, res, start, end);
    res.end();
  } catch {
    res.destroy();
  } finally {
    await file.close();
  }
  return reply;
}

function created(reply: FastifyReply, name: string, digest: string): FastifyReply {
  return reply
    .code(201)
    .headers({ Location: blobLocation(name, digest), "Docker-Content-Digest": digest })
    .send();
}

function uploadState(reply: FastifyReply, name: string, state: UploadState): FastifyReply {
  return reply
    .headers({
      Location: uploadLocation(name, state.id),
      Range: receivedRange(state.size),
      "Docker-Upload-UUID": state.id,
    })
    .send();
}
