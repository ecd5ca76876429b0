import { readFileSync } from "node:fs";
import { type ImageReference, registryApiHost } from "../../core/admission/image-reference.js";
import { dockerCredentials } from "./docker-credentials.js";
import { RegistryClient } from "./registry-client.js";
import { RegistryTransport } from "./transport.js";

/**
 * A client for the registry an image reference names, with docker's credentials for it and the extra
 * CA the CLI's other client commands take (`--ca`, else `TRUSTDOCK_CA`).
 */
export async function openRegistry(image: ImageReference, opts: { ca?: string }): Promise<RegistryClient> {
  const caFile = opts.ca ?? process.env.TRUSTDOCK_CA;
  const credentials = await dockerCredentials(image.registry);
  return new RegistryClient(
    new RegistryTransport(registryApiHost(image.registry), {
      ...(caFile ? { ca: readFileSync(caFile, "utf8") } : {}),
      ...(credentials ? { credentials } : {}),
    }),
  );
}
