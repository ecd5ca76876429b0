import { AccessPolicy, type AuthenticateBasic } from "../auth/access.js";
import type { UserStore } from "../auth/users.js";
import type { Db } from "../storage/db.js";
import { basicAuthenticator } from "./credentials.js";
import { ProjectStore } from "./project-store.js";
import { RobotStore } from "./robot-store.js";

/** Who is calling (users and robot accounts) and what they may do, from the projects in `db`. */
export interface AccessControl {
  readonly authenticate: AuthenticateBasic;
  readonly policy: AccessPolicy;
}

export function projectAccessControl(db: Db, users: Pick<UserStore, "authenticate">): AccessControl {
  return {
    authenticate: basicAuthenticator(users, new RobotStore(db)),
    policy: new AccessPolicy(new ProjectStore(db)),
  };
}
