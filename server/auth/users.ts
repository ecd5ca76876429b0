import { createHmac, randomBytes } from "node:crypto";
import type { Queryable } from "../storage/db.js";
import { hashPassword, verifyPassword } from "./passwords.js";

/** Who a request acts as, once its credentials were checked. */
export interface User {
  readonly id: number;
  readonly username: string;
  readonly isAdmin: boolean;
}

interface UserRow {
  id: number;
  username: string;
  is_admin: boolean;
  password_hash: string;
}

function toUser(row: UserRow): User {
  return { id: row.id, username: row.username, isAdmin: row.is_admin };
}

export class UserStore {
  // Checked against when the user does not exist, so that a wrong name costs as long as a wrong password.
  private decoy: Promise<string> | undefined;

  private readonly verified = new VerifiedPasswords();

  constructor(private readonly db: Queryable) {}

  async find(username: string): Promise<User | undefined> {
    const [row] = await this.db.query<UserRow>("SELECT * FROM users WHERE username = $1", [username]);
    return row && toUser(row);
  }

  /** The user whose password this is, else undefined (wrong name and wrong password look alike). */
  async authenticate(username: string, password: string): Promise<User | undefined> {
    const [row] = await this.db.query<UserRow>("SELECT * FROM users WHERE username = $1", [username]);
    if (!row) {
      this.decoy ??= hashPassword(randomBytes(16).toString("hex"));
      await verifyPassword(password, await this.decoy);
      return undefined;
    }
    if (this.verified.matches(username, password, row.password_hash)) return toUser(row);
    if (!(await verifyPassword(password, row.password_hash))) return undefined;
    this.verified.remember(username, password, row.password_hash);
    return toUser(row);
  }

  /** Throws the database's unique violation if the name is taken. */
  async create(user: { username: string; password: string; isAdmin?: boolean }): Promise<User> {
    const [row] = await this.db.query<UserRow>(
      "INSERT INTO users (username, password_hash, is_admin) VALUES ($1, $2, $3) RETURNING *",
      [user.username, await hashPassword(user.password), user.isAdmin ?? false],
    );
    if (!row) throw new Error("INSERT ... RETURNING returned no row");
    return toUser(row);
  }

  /** False if there is no such user. */
  async setPassword(username: string, password: string): Promise<boolean> {
    const rows = await this.db.query("UPDATE users SET password_hash = $2 WHERE username = $1 RETURNING id", [
      username,
      await hashPassword(password),
    ]);
    return rows.length > 0;
  }
}

/**
 * Passwords that verified recently, so a client logging in for every command (the notary and docker CLIs
 * do) pays scrypt once a minute rather than each time. Only successes are kept, under an HMAC with a key
 * of this process (the password itself is never stored), and only for the stored hash they matched: a
 * changed password misses at once. Wrong passwords always pay the full scrypt cost.
 */
class VerifiedPasswords {
  private static readonly TTL_MS = 60_000;
  private static readonly MAX_ENTRIES = 10_000;
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, { passwordHash: string; expires: number }>();

  matches(username: string, password: string, passwordHash: string): boolean {
    const entry = this.entries.get(this.id(username, password));
    return entry !== undefined && entry.passwordHash === passwordHash && entry.expires > Date.now();
  }

  remember(username: string, password: string, passwordHash: string): void {
    if (this.entries.size >= VerifiedPasswords.MAX_ENTRIES) this.entries.clear();
    this.entries.set(this.id(username, password), {
      passwordHash,
      expires: Date.now() + VerifiedPasswords.TTL_MS,
    });
  }

  private id(username: string, password: string): string {
    return createHmac("sha256", this.key).update(username).update("\0").update(password).digest("hex");
  }
}
