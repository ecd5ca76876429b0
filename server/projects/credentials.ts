import type { AuthenticateBasic } from "../auth/access.js";
import type { UserStore } from "../auth/users.js";
import { parseRobotName } from "./robot-names.js";
import type { RobotStore } from "./robot-store.js";

/**
 * HTTP Basic credentials of a user or, for a `robot$...` name, of a robot account: what the token
 * endpoint, the protocol routes and the Harbor API all accept.
 */
export function basicAuthenticator(
  users: Pick<UserStore, "authenticate">,
  robots: Pick<RobotStore, "authenticate">,
): AuthenticateBasic {
  return async (username, password) => {
    if (parseRobotName(username)) {
      const robot = await robots.authenticate(username, password);
      return robot && { kind: "robot", robot };
    }
    const user = await users.authenticate(username, password);
    return user && { kind: "user", user };
  };
}
