/**
 * Image references as a container runtime reads them (docker's reference grammar): `nginx` is
 * `docker.io/library/nginx:latest`; a first component with a dot, a colon or `localhost` is a registry.
 * core/gun.ts and server/registry/names.ts only validate names; parsing the parts out lives here.
 */
const DOMAIN = String.raw`(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+|[a-zA-Z0-9.-]+:[0-9]+|\[[0-9a-fA-F:]+\](?::[0-9]+)?)`;
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REFERENCE = new RegExp(
  `^(?:(${DOMAIN})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`,
);

export const DOCKER_HUB = "docker.io";
const DOCKER_HUB_API = "registry-1.docker.io";
const DOCKER_HUB_NOTARY = "notary.docker.io";

export interface ImageReference {
  /** `docker.io`, `registry.example.com`, `127.0.0.1:5000` */
  readonly registry: string;
  /** With docker.io's `library/` added for official images. */
  readonly repository: string;
  /** The tag, `latest` when the reference names neither tag nor digest. */
  readonly tag: string | undefined;
  readonly digest: string | undefined;
  /** The name as written, without tag or digest: what a pinned reference starts with. */
  readonly writtenName: string;
}

export class InvalidImageReferenceError extends Error {
  override readonly name = "InvalidImageReferenceError";
}

export function parseImageReference(text: string): ImageReference {
  const match = REFERENCE.exec(text);
  if (!match || text.length > 512)
    throw new InvalidImageReferenceError(`"${text}" is not a valid image reference`);
  const [, domain, path = "", tag, digest] = match;
  const registry = domain ?? DOCKER_HUB;
  const repository = registry === DOCKER_HUB && !path.includes("/") ? `library/${path}` : path;
  const writtenName = domain ? `${domain}/${path}` : path;
  return { registry, repository, tag: tag ?? (digest ? undefined : "latest"), digest, writtenName };
}

/** `registry/repository`: what policy patterns match, and (for Notary) the GUN. */
export function fullName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The reference as the webhook reports it: full name with the tag and digest it was given. */
export function describe(ref: ImageReference): string {
  return `${fullName(ref)}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** The reference pinned to `digest`, keeping the name as written so nothing else about it changes. */
export function pinnedReference(ref: ImageReference, digest: string): string {
  return `${ref.writtenName}@${digest}`;
}

/** Where the registry API of `registry` answers; docker.io's is not at docker.io itself. */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** Where Notary trust data for `registry` lives, as docker content trust finds it by default. */
export function trustServerHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_NOTARY : registry;
}
