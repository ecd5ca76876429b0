import Fastify, { type FastifyError } from "fastify";
import { DatabaseUnavailableError, type Db } from "../server/storage/db.js";
import { HTTP_STATUS, SignerError, type SignerErrorCode } from "./errors.js";
import type { KeyLabels, KeyStore } from "./key-store.js";
import { KEY_ALGORITHMS, type KeyAlgorithm, type KeyResponse, type SignResponse } from "./protocol.js";

/** PEM text, as node's TLS options take it. */
export interface SignerTls {
  readonly cert: string;
  readonly key: string;
  /** The CA that issued the certificates of the clients allowed in. */
  readonly ca: string;
}

export interface SignerAppOptions {
  readonly db: Db;
  readonly keys: KeyStore;
  readonly tls: SignerTls;
  readonly logger?: boolean;
}

// Snapshot and targets metadata of a large repository run to megabytes, and base64 adds a third.
const BODY_LIMIT = 32 * 1024 * 1024;
// Strict base64 (standard alphabet, exact padding), as core/encoding's isBase64 accepts it.
const BASE64 = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$";

const keyIdParams = {
  type: "object",
  required: ["keyId"],
  properties: { keyId: { type: "string", pattern: "^[0-9a-f]{64}$" } },
} as const;

const createBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    algorithm: { type: "string", enum: [...KEY_ALGORITHMS] },
    gun: { type: "string", minLength: 1, maxLength: 1024 },
    role: { type: "string", minLength: 1, maxLength: 255 },
  },
} as const;

const signBody = {
  type: "object",
  additionalProperties: false,
  required: ["data"],
  properties: { data: { type: "string", pattern: BASE64 } },
} as const;

const keyReply = {
  type: "object",
  required: ["keyId", "algorithm", "publicKey"],
  properties: {
    keyId: { type: "string" },
    algorithm: { type: "string" },
    publicKey: {
      type: "object",
      required: ["keytype", "keyval"],
      properties: {
        keytype: { type: "string" },
        keyval: {
          type: "object",
          required: ["public", "private"],
          properties: { public: { type: "string" }, private: { type: "null" } },
        },
      },
    },
  },
} as const;

const signReply = {
  type: "object",
  required: ["keyId", "method", "signature"],
  properties: { keyId: { type: "string" }, method: { type: "string" }, signature: { type: "string" } },
} as const;

/** The signer's HTTP API, served only to clients presenting a certificate from `tls.ca`. */
export function buildSignerApp(opts: SignerAppOptions) {
  const app = Fastify({
    https: {
      key: opts.tls.key,
      cert: opts.tls.cert,
      ca: opts.tls.ca,
      requestCert: true,
      rejectUnauthorized: true,
    },
    logger: opts.logger ?? false,
    bodyLimit: BODY_LIMIT,
    // Reject what does not match the schema instead of coercing a number into a string or dropping fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
  const { keys, db } = opts;

  app.post<{ Body: { algorithm?: KeyAlgorithm } & KeyLabels }>(
    "/v1/keys",
    { schema: { body: createBody, response: { 201: keyReply } } },
    async (request, reply): Promise<KeyResponse> => {
      const { algorithm = "ecdsa", gun, role } = request.body;
      const key = await keys.create(algorithm, { gun, role });
      reply.status(201);
      return key;
    },
  );

  app.get<{ Params: { keyId: string } }>(
    "/v1/keys/:keyId",
    { schema: { params: keyIdParams, response: { 200: keyReply } } },
    async (request): Promise<KeyResponse> => keys.get(request.params.keyId),
  );

  app.post<{ Params: { keyId: string }; Body: { data: string } }>(
    "/v1/keys/:keyId/sign",
    { schema: { params: keyIdParams, body: signBody, response: { 200: signReply } } },
    async (request): Promise<SignResponse> => {
      const data = Buffer.from(request.body.data, "base64");
      const { keyId, method, signature } = await keys.sign(request.params.keyId, data);
      return { keyId, method, signature: Buffer.from(signature).toString("base64") };
    },
  );

  app.delete<{ Params: { keyId: string } }>(
    "/v1/keys/:keyId",
    { schema: { params: keyIdParams } },
    async (request, reply) => {
      await keys.delete(request.params.keyId);
      return reply.status(204).send();
    },
  );

  app.get("/v1/health", async () => {
    try {
      await db.query("SELECT 1");
    } catch (err) {
      throw new SignerError("UNAVAILABLE", "the signer's database does not answer", { cause: err });
    }
    return { status: "ok" };
  });

  app.setNotFoundHandler(async (request, reply) =>
    reply.status(404).send(errorBody("NOT_FOUND", `no route ${request.method} ${request.url}`)),
  );

  app.setErrorHandler(async (err: FastifyError, request, reply) => {
    const { status, code, message } = classify(err);
    if (status >= 500) request.log.error({ err }, message);
    return reply.status(status).send(errorBody(code, message));
  });

  return app;
}

function classify(err: FastifyError): { status: number; code: SignerErrorCode; message: string } {
  if (err instanceof SignerError)
    return { status: HTTP_STATUS[err.code], code: err.code, message: err.message };
  if (err instanceof DatabaseUnavailableError) {
    return { status: 503, code: "UNAVAILABLE", message: "the signer's database is unavailable" };
  }
  // Validation failures and fastify's own refusals (bad JSON, wrong content type, body too large).
  if (err.validation !== undefined) return { status: 400, code: "INVALID_REQUEST", message: err.message };
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return { status, code: "INVALID_REQUEST", message: err.message };
  return { status: 500, code: "INTERNAL", message: "internal signer error" };
}

function errorBody(code: SignerErrorCode, message: string) {
  return { error: { code, message } };
}
