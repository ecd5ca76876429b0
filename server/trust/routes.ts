import type {} from "@fastify/multipart";
import type { FastifyRequest } from "fastify";
import { isValidGun } from "../../core/gun.js";
import type { Authorize } from "../auth/authorize.js";
import type { V2Router } from "../http/v2-router.js";
import { NotaryRequestError, replyNotaryError } from "./errors.js";
import type { StoredFile } from "./metadata-store.js";
import { isPublishableRole, isServerKeyRole, type TrustService } from "./trust-service.js";

export interface TrustRoutesOptions {
  trust: TrustService;
  authorize: Authorize;
  /** Authorizes the global changefeed, which spans every repository. */
  authorizeGlobal: (request: FastifyRequest) => Promise<unknown>;
}

// Sizes notary clients never come near: a publish is a handful of small JSON files.
export const MAX_METADATA_FILE_BYTES = 10 * 1024 * 1024;
export const MAX_PUBLISH_FILES = 200;

const CURRENT_CACHE = "public, max-age=300, s-maxage=300, must-revalidate";
const PINNED_CACHE = "public, max-age=2592000, s-maxage=2592000";
const DEFAULT_CHANGEFEED_PAGE = 100;
const MAX_CHANGEFEED_PAGE = 1000;

/** The Notary v1 server API on the shared `/v2/` router; the paths notary-server serves, with its errors. */
export function registerTrustRoutes(router: V2Router, opts: TrustRoutesOptions): void {
  const { trust, authorize } = opts;
  const onError = replyNotaryError;

  router.add({
    methods: ["POST", "DELETE"],
    pattern: /^(.+)\/_trust\/tuf\/?$/,
    onError,
    handler: async (request, reply, match) => {
      const gun = checkedGun(match[1]);
      if (request.method === "DELETE") {
        await authorize(request, gun, ["*"]);
        await trust.deleteRepository(gun);
        return reply.code(200).send();
      }
      await authorize(request, gun, ["pull", "push"]);
      await trust.publish(gun, await readPublish(request));
      return reply.code(200).send();
    },
  });

  router.add({
    methods: ["GET", "POST"],
    pattern: /^(.+)\/_trust\/tuf\/([^/]+)\.key$/,
    onError,
    handler: async (request, reply, match) => {
      const gun = checkedGun(match[1]);
      const role = match[2] ?? "";
      await authorize(request, gun, ["pull", "push"]);
      if (!isServerKeyRole(role))
        throw new NotaryRequestError(
          "INVALID_ROLE",
          `the server manages only timestamp and snapshot keys, not ${role}`,
        );
      const key =
        request.method === "POST" ? await trust.rotateKey(gun, role) : await trust.getOrCreateKey(gun, role);
      return reply
        .type("text/plain; charset=utf-8")
        .send(JSON.stringify({ keytype: key.keytype, keyval: { public: key.keyval.public, private: null } }));
    },
  });

  router.add({
    methods: ["GET", "HEAD"],
    pattern: /^(.+)\/_trust\/tuf\/(.+)\.json$/,
    onError,
    handler: async (request, reply, match) => {
      const gun = checkedGun(match[1]);
      await authorize(request, gun, ["pull"]);
      const name = match[2] ?? "";
      const byVersion = /^(\d+)\.(.+)$/.exec(name);
      const byChecksum = /^(.+)\.([0-9a-f]{64})$/.exec(name);
      let file: StoredFile;
      let cache: string;
      if (byVersion) {
        file = await trust.byVersion(gun, checkedRole(byVersion[2]), Number(byVersion[1]));
        cache = PINNED_CACHE;
      } else if (byChecksum) {
        file = await trust.byChecksum(gun, checkedRole(byChecksum[1]), byChecksum[2] ?? "");
        cache = PINNED_CACHE;
      } else {
        file = await trust.current(gun, checkedRole(name));
        cache = CURRENT_CACHE;
      }
      return reply
        .header("Cache-Control", cache)
        .header("Last-Modified", httpDate(file.createdAt))
        .type("text/plain; charset=utf-8")
        .send(Buffer.from(file.data.buffer, file.data.byteOffset, file.data.byteLength));
    },
  });

  router.add({
    methods: ["GET"],
    pattern: /^(?:(.+)\/)?_trust\/changefeed$/,
    onError,
    handler: async (request, reply, match) => {
      let gun: string | undefined;
      if (match[1] === undefined) {
        await opts.authorizeGlobal(request);
      } else {
        gun = checkedGun(match[1]);
        await authorize(request, gun, ["pull"]);
      }
      const query = request.query as Record<string, string | undefined>;
      const changeId = parseInteger(query.change_id ?? "0", "change_id");
      const records = parseInteger(query.records ?? String(DEFAULT_CHANGEFEED_PAGE), "records");
      const page =
        Math.sign(records || 1) * Math.min(Math.abs(records) || DEFAULT_CHANGEFEED_PAGE, MAX_CHANGEFEED_PAGE);
      const changes = await trust.changes(gun, changeId, page);
      return reply.type("application/json").send({ count: changes.length, records: changes });
    },
  });
}

function checkedGun(raw: string | undefined): string {
  const gun = raw ?? "";
  if (!isValidGun(gun)) throw new NotaryRequestError("INVALID_GUN", `${gun} is not a valid repository name`);
  return gun;
}

function checkedRole(role: string | undefined): string {
  const name = role ?? "";
  if (name !== "timestamp" && !isPublishableRole(name))
    throw new NotaryRequestError("INVALID_ROLE", `${name} is not a TUF role`);
  return name;
}

function parseInteger(value: string, name: string): number {
  if (!/^-?\d{1,15}$/.test(value))
    throw new NotaryRequestError("INVALID_PARAMETERS", `${name} must be an integer`);
  return Number(value);
}

/** Each part of notary's multipart publish is one role: its filename names the role, its body the file. */
async function readPublish(request: FastifyRequest): Promise<Array<{ role: string; bytes: Uint8Array }>> {
  if (!request.isMultipart())
    throw new NotaryRequestError("MALFORMED_UPLOAD", "a publish must be multipart/form-data");
  const files: Array<{ role: string; bytes: Uint8Array }> = [];
  try {
    for await (const part of request.parts({
      // Delegated roles are named like paths (`targets/releases`); busboy would keep only the last part.
      preservePath: true,
      limits: { fileSize: MAX_METADATA_FILE_BYTES, files: MAX_PUBLISH_FILES },
    })) {
      if (part.type !== "file" || !part.filename)
        throw new NotaryRequestError(
          "MALFORMED_UPLOAD",
          "every part of a publish must be a file named by its role",
        );
      files.push({ role: part.filename, bytes: await part.toBuffer() });
    }
  } catch (err) {
    if (err instanceof NotaryRequestError) throw err;
    // busboy's and the multipart plugin's complaints (truncated body, a file over the limit) are the client's.
    const status = (err as { statusCode?: number }).statusCode;
    throw new NotaryRequestError(
      "MALFORMED_UPLOAD",
      `the publish could not be read: ${(err as Error).message}`,
      status && status >= 400 && status < 500 ? status : 400,
    );
  }
  return files;
}

// notary-server writes Last-Modified with a numeric zone ("Sun, 22 Nov 2026 15:04:42 +0000").
function httpDate(date: Date): string {
  return date.toUTCString().replace("GMT", "+0000");
}
