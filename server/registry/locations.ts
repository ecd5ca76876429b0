// The URLs the registry hands out in Location and Link headers: relative, as the spec allows.

export function blobLocation(repository: string, digest: string): string {
  return `/v2/${repository}/blobs/${digest}`;
}

export function uploadLocation(repository: string, id: string): string {
  return `/v2/${repository}/blobs/uploads/${id}`;
}

export function manifestLocation(repository: string, digest: string): string {
  return `/v2/${repository}/manifests/${digest}`;
}
