import { UserStore } from "../auth/users.js";
import type { Db } from "../storage/db.js";
import { HarborError, isUniqueViolation } from "./errors.js";

/** A user as Harbor's API shows one: the login plus the profile Harbor keeps beside it. */
export interface UserProfile {
  readonly id: number;
  readonly username: string;
  readonly isAdmin: boolean;
  readonly email: string;
  readonly realname: string;
  readonly comment: string;
  readonly createdAt: Date;
}

export interface NewUser {
  readonly username: string;
  readonly password: string;
  readonly email?: string;
  readonly realname?: string;
  readonly comment?: string;
}

interface ProfileRow {
  id: number;
  username: string;
  is_admin: boolean;
  email: string | null;
  realname: string | null;
  comment: string | null;
  created_at: Date;
}

const SELECT_PROFILE = `
  SELECT u.id, u.username, u.is_admin, u.created_at, up.email, up.realname, up.comment
  FROM users u LEFT JOIN user_profiles up ON up.user_id = u.id`;

function toProfile(row: ProfileRow): UserProfile {
  return {
    id: row.id,
    username: row.username,
    isAdmin: row.is_admin,
    email: row.email ?? "",
    realname: row.realname ?? "",
    comment: row.comment ?? "",
    createdAt: row.created_at,
  };
}

/** Users with their profiles; logins and passwords stay the UserStore's. */
export class UserDirectory {
  constructor(private readonly db: Db) {}

  async create(user: NewUser): Promise<UserProfile> {
    try {
      const id = await this.db.transaction(async (tx) => {
        const created = await new UserStore(tx).create({ username: user.username, password: user.password });
        await tx.query(
          "INSERT INTO user_profiles (user_id, email, realname, comment) VALUES ($1, $2, $3, $4)",
          [created.id, user.email ?? "", user.realname ?? "", user.comment ?? ""],
        );
        return created.id;
      });
      const profile = await this.findById(id);
      if (!profile) throw new Error(`user ${id} vanished right after it was created`);
      return profile;
    } catch (err) {
      if (isUniqueViolation(err))
        throw new HarborError("CONFLICT", `username ${user.username} is already used`);
      throw err;
    }
  }

  async findById(id: number): Promise<UserProfile | undefined> {
    const [row] = await this.db.query<ProfileRow>(`${SELECT_PROFILE} WHERE u.id = $1`, [id]);
    return row && toProfile(row);
  }

  async findByName(username: string): Promise<UserProfile | undefined> {
    const [row] = await this.db.query<ProfileRow>(`${SELECT_PROFILE} WHERE u.username = $1`, [username]);
    return row && toProfile(row);
  }
}
