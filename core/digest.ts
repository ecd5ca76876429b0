import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { toHex } from "./encoding.js";

export function sha256Hex(data: Uint8Array): string {
  return toHex(sha256(data));
}

export { sha256, sha512 };
