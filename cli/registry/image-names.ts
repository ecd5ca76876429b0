import { DOCKER_HUB, type ImageReference } from "../../core/admission/image-reference.js";

/**
 * The repository as go-containerregistry names it, which is what cosign writes into a payload's
 * `docker-reference` and prints: Docker Hub is `index.docker.io`.
 */
export function repositoryName(image: ImageReference): string {
  return `${image.registry === DOCKER_HUB ? "index.docker.io" : image.registry}/${image.repository}`;
}

/** The reference as cosign prints it: by digest when one was given, else by tag (`latest` by default). */
export function referenceName(image: ImageReference): string {
  return `${repositoryName(image)}${image.digest ? `@${image.digest}` : `:${image.tag ?? "latest"}`}`;
}
