import { randomBytes } from "node:crypto";
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
    return (await verifyPassword(password, row.password_hash)) ? toUser(row) : undefined;
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
