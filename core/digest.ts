import { createHash } from "node:crypto";

// node's hashes (OpenSSL) rather than a JS implementation: the timestamp read path hashes the snapshot.
export function sha256(data: Uint8Array): Uint8Array {
  return createHash("sha256").update(data).digest();
}

export function sha512(data: Uint8Array): Uint8Array {
  return createHash("sha512").update(data).digest();
}

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
