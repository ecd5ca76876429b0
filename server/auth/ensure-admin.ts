import { randomBytes } from "node:crypto";
import type { Queryable } from "../storage/db.js";
import { hashPassword } from "./passwords.js";

export const ADMIN_USERNAME = "admin";

/**
 * Makes sure the `admin` user exists. With `password` (TRUSTDOCK_ADMIN_PASSWORD) the admin's password is
 * set to it on every start, so changing the variable and restarting changes it. Without, a first start
 * generates one and returns it for the caller to print once; later starts leave the admin alone.
 * An empty `password` counts as not given, as an empty environment variable usually means unset.
 */
export async function ensureAdmin(
  db: Queryable,
  password: string | undefined,
): Promise<{ generatedPassword?: string }> {
  if (password) {
    await db.query(
      `INSERT INTO users (username, password_hash, is_admin) VALUES ($1, $2, true)
       ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, is_admin = true`,
      [ADMIN_USERNAME, await hashPassword(password)],
    );
    return {};
  }
  const existing = await db.query("SELECT 1 FROM users WHERE username = $1", [ADMIN_USERNAME]);
  if (existing.length > 0) return {};
  const generatedPassword = randomBytes(18).toString("base64url");
  // Two processes starting together: only the one whose row went in may announce its password.
  const inserted = await db.query(
    `INSERT INTO users (username, password_hash, is_admin) VALUES ($1, $2, true)
     ON CONFLICT (username) DO NOTHING RETURNING id`,
    [ADMIN_USERNAME, await hashPassword(generatedPassword)],
  );
  return inserted.length > 0 ? { generatedPassword } : {};
}
