import { createHash, type KeyObject } from "node:crypto";

const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding. */
export function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The key ID docker's libtrust gives a public key (SHA-256 of its SubjectPublicKeyInfo, cut to 240 bits,
 * base32 in twelve groups of four joined by ':'). A registry token's `kid` in this form is what
 * distribution and notary-server look up among the keys of their `rootcertbundle`, so they can trust
 * Trustdock's tokens as Harbor's registry and notary trust Harbor's.
 */
export function libtrustKeyId(publicKey: KeyObject): string {
  const spki = publicKey.export({ format: "der", type: "spki" });
  const digits = base32(createHash("sha256").update(spki).digest().subarray(0, 30));
  return digits.match(/.{1,4}/g)?.join(":") ?? "";
}
