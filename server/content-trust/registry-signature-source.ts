import { readFile } from "node:fs/promises";
import { DOCKER_MANIFEST_LIST, OCI_INDEX } from "../registry/manifest-format.js";
import type { RegistryEvents } from "../registry/registry-events.js";
import type { RegistryStore } from "../registry/registry-store.js";
import type { BlobStore } from "../storage/blob-store.js";
import type { Queryable } from "../storage/db.js";
import type { CosignVerdictCache } from "./cosign-verdicts.js";
import type { SignatureSource } from "./cosign-verification.js";

/** Signatures as the registry stores them: manifests and referrers in the database, payloads as blob files. */
export function registrySignatureSource(
  store: RegistryStore,
  blobs: BlobStore,
  db: Queryable,
): SignatureSource {
  return {
    async indexesHolding(repository, digest) {
      const rows = await db.query<{ digest: string }>(
        `SELECT i.digest FROM registry_manifests i
         CROSS JOIN LATERAL json_array_elements(convert_from(i.content, 'UTF8')::json -> 'manifests') AS entry (value)
         WHERE i.repository_id = (SELECT id FROM registry_repositories WHERE name = $1)
           AND i.media_type IN ($2, $3) AND entry.value ->> 'digest' = $4
         ORDER BY i.created_at, i.digest`,
        [repository, OCI_INDEX, DOCKER_MANIFEST_LIST, digest],
      );
      return rows.map((row) => row.digest);
    },
    manifestByTag: (repository, tag) => store.manifestByTag(repository, tag),
    manifestByDigest: (repository, digest) => store.manifestByDigest(repository, digest),
    referrers: (repository, subject) => store.referrers(repository, subject),
    async blob(digest, maxBytes) {
      const size = await blobs.size(digest);
      if (size === undefined || size > maxBytes) return undefined;
      try {
        return new Uint8Array(await readFile(blobs.blobPath(digest)));
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * The registry's events, with this process's pushes and deletions dropping the repository's cosign
 * verdicts before the client is answered (other processes drop theirs on the registry's NOTIFY).
 */
export function invalidatingCosignVerdicts(
  events: RegistryEvents,
  verdicts: CosignVerdictCache,
): RegistryEvents {
  return {
    pushed(event) {
      verdicts.repositoryChanged(event.repository);
      return events.pushed(event);
    },
    pulled: (event) => events.pulled(event),
    deleted(event) {
      verdicts.repositoryChanged(event.repository);
      return events.deleted(event);
    },
  };
}
