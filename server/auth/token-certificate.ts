import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Queryable } from "../storage/db.js";
import { loadSigningKey, signingKeyCertificate } from "./signing-key.js";

/**
 * Keeps `file` holding a certificate of the database's token signing key, so that a registry or
 * notary-server pointed at Trustdock's token service can name it as its `rootcertbundle`. A file that
 * already holds the key is left alone; a stale one (another database, a new key) is replaced whole.
 */
export async function ensureTokenCertificate(db: Queryable, file: string): Promise<void> {
  const key = await loadSigningKey(db);
  if (existsSync(file)) {
    try {
      if (new X509Certificate(readFileSync(file)).publicKey.equals(key.publicKey)) return;
    } catch {
      // unreadable or not a certificate: replaced below
    }
  }
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, signingKeyCertificate(key));
  renameSync(temporary, file);
}
