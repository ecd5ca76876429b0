import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from "../manifest-format.js";

// What the registry's tests share: requests with one set of credentials, and pushing blobs, images and
// indexes. Test support only; nothing in the server imports it.

export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

export interface RegistryReply {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: Buffer;
  json<T = { errors: Array<{ code: string; message: string; detail: unknown }> }>(): T;
}

export interface CallOptions {
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** The Authorization header; null sends none. Default: the client's. */
  auth?: string | null;
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface PushedManifest extends Descriptor {
  bytes: Buffer;
  reply: RegistryReply;
}

/** The bytes of an OCI image manifest naming `config` and `layers` (gzip tar layers), as a push sends them. */
export function ociImageManifest(config: Buffer, layers: readonly Buffer[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha256(config),
        size: config.length,
      },
      layers: layers.map((layer) => ({
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: sha256(layer),
        size: layer.length,
      })),
    }),
  );
}

/** Registry requests through `app.inject`, sending `authorization` unless told otherwise. */
export function registryClient(app: Pick<FastifyInstance, "inject">, authorization: string) {
  const call = async (method: string, path: string, opts: CallOptions = {}): Promise<RegistryReply> => {
    const auth = opts.auth === undefined ? authorization : opts.auth;
    const res = await app.inject({
      method: method as "GET",
      url: path,
      headers: { ...(auth ? { authorization: auth } : {}), ...opts.headers },
      ...(opts.body !== undefined ? { payload: opts.body } : {}),
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      body: res.rawPayload,
      json: <T>() => JSON.parse(res.payload) as T,
    };
  };

  const pushBlob = async (
    repository: string,
    bytes: Buffer | string,
    mediaType = "application/octet-stream",
  ) => {
    const digest = sha256(bytes);
    const res = await call("POST", `/v2/${repository}/blobs/uploads/?digest=${digest}`, {
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    });
    if (res.status !== 201) throw new Error(`blob push failed: ${res.status} ${res.body.toString()}`);
    return { mediaType, digest, size: Buffer.byteLength(bytes) };
  };

  const pushManifest = async (
    repository: string,
    reference: string | undefined,
    manifest: object,
    mediaType: string,
  ): Promise<PushedManifest> => {
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = sha256(bytes);
    const reply = await call("PUT", `/v2/${repository}/manifests/${reference ?? digest}`, {
      headers: { "content-type": mediaType },
      body: bytes,
    });
    return { mediaType, digest, size: bytes.length, bytes, reply };
  };

  /** An image manifest with one config and one layer, both pushed first; `extra` goes into the manifest. */
  const pushImage = async (
    repository: string,
    reference: string | undefined,
    opts: { content?: string; mediaType?: string; configType?: string; extra?: object } = {},
  ): Promise<PushedManifest> => {
    const mediaType = opts.mediaType ?? OCI_MANIFEST;
    const docker = mediaType === DOCKER_MANIFEST;
    const config = await pushBlob(
      repository,
      JSON.stringify({ architecture: "amd64", os: "linux", content: opts.content ?? "" }),
      opts.configType ??
        (docker
          ? "application/vnd.docker.container.image.v1+json"
          : "application/vnd.oci.image.config.v1+json"),
    );
    const layer = await pushBlob(
      repository,
      `layer of ${opts.content ?? "an image"}`,
      docker
        ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
        : "application/vnd.oci.image.layer.v1.tar+gzip",
    );
    const pushed = await pushManifest(
      repository,
      reference,
      { schemaVersion: 2, mediaType, config, layers: [layer], ...opts.extra },
      mediaType,
    );
    if (pushed.reply.status !== 201)
      throw new Error(`manifest push failed: ${pushed.reply.status} ${pushed.reply.body.toString()}`);
    return pushed;
  };

  const pushIndex = (repository: string, reference: string | undefined, manifests: Descriptor[]) =>
    pushManifest(repository, reference, { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, OCI_INDEX);

  return { call, pushBlob, pushManifest, pushImage, pushIndex };
}

export type RegistryClient = ReturnType<typeof registryClient>;

let repositories = 0;

/** A repository name no other test of the suite uses. */
export function uniqueRepository(prefix: string): string {
  repositories += 1;
  return `library/${prefix}-${repositories}`;
}
