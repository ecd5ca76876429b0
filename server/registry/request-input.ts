import type { FastifyRequest } from "fastify";
import type { ChunkRange } from "./blob-uploads.js";
import { type ParsedDigest, parseDigest } from "./digest.js";
import { RegistryError } from "./errors.js";
import { isRepositoryName } from "./names.js";

// Turning the parts of a registry request into checked values, refusing with the spec's codes.

export function checkedName(raw: string | undefined): string {
  const name = raw ?? "";
  if (!isRepositoryName(name))
    throw new RegistryError("NAME_INVALID", "invalid repository name", { detail: { name } });
  return name;
}

export function checkedDigest(raw: string | undefined): ParsedDigest {
  const digest = parseDigest(raw ?? "");
  if (!digest) throw new RegistryError("DIGEST_INVALID", `${raw ?? "(none)"} is not a supported digest`);
  return digest;
}

/** A query parameter given once; repeated ones must agree. No text the database cannot hold (NUL). */
export function queryParam(request: FastifyRequest, name: string): string | undefined {
  const raw = (request.query as Record<string, string | string[] | undefined>)[name];
  const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const code = name === "digest" ? "DIGEST_INVALID" : "UNSUPPORTED";
  if (new Set(values).size > 1) throw new RegistryError(code, `conflicting ${name} values`, { status: 400 });
  if (values[0]?.includes("\u0000")) throw new RegistryError(code, `${name} holds a NUL`, { status: 400 });
  return values[0];
}

/** `n`, the page size of tag lists and the catalog: a non-negative integer. */
export function pageSize(request: FastifyRequest): number | undefined {
  const n = queryParam(request, "n");
  if (n === undefined) return undefined;
  if (!/^\d{1,9}$/.test(n))
    throw new RegistryError("PAGINATION_NUMBER_INVALID", "n must be a non-negative integer", {
      detail: { n },
    });
  return Number(n);
}

export function mediaTypeOf(request: FastifyRequest): string | undefined {
  const header = request.headers["content-type"];
  return header?.split(";")[0]?.trim().toLowerCase() || undefined;
}

/**
 * A chunk's Content-Range, `<start>-<end>` (a `bytes ` prefix tolerated); undefined when absent.
 * "unreadable" for a malformed one or one whose length is not the body's, which the spec answers with 416.
 */
export function chunkRange(request: FastifyRequest): ChunkRange | undefined | "unreadable" {
  const header = request.headers["content-range"];
  if (header === undefined) return undefined;
  const match = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})$/.exec(header.trim());
  if (!match) return "unreadable";
  const start = Number(match[1]);
  const end = Number(match[2]);
  const length = request.headers["content-length"];
  if (end < start || (length !== undefined && Number(length) !== end - start + 1)) return "unreadable";
  return { start, end };
}

/**
 * The single byte range a blob GET asks for (`bytes=a-b`, `bytes=a-`, `bytes=-n`), clipped to the blob;
 * undefined for none or for several ranges (answered with the whole blob). Unsatisfiable: 416.
 */
export function byteRange(request: FastifyRequest, size: number): { start: number; end: number } | undefined {
  const header = request.headers.range;
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (match[1] === "") {
    start = Math.max(size - Number(match[2]), 0);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || end < start)
    throw new RegistryError("SIZE_INVALID", "the requested range is outside the blob", {
      status: 416,
      headers: { "Content-Range": `bytes */${size}` },
    });
  return { start, end };
}
