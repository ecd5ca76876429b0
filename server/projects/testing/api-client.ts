import Fastify, { type FastifyInstance, type LightMyRequestResponse } from "fastify";
import { UserStore } from "../../auth/users.js";
import type { Db } from "../../storage/db.js";
import { projectAccessControl } from "../access-control.js";
import { type HarborApiOptions, harborApi } from "../api/plugin.js";
import { passwordOf } from "./access-world.js";

export interface ApiClient {
  readonly app: FastifyInstance;
  /**
   * One request to `/api/v2.0<path>` as `as` (a username of the access world, whose password it knows,
   * `[name, secret]` for a robot, or nobody).
   */
  call(
    method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE",
    path: string,
    options?: { as?: string | readonly [string, string]; body?: unknown; headers?: Record<string, string> },
  ): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** The Harbor API alone on a fastify app, over the access world's database. */
export async function startApi(
  db: Db,
  options: Pick<HarborApiOptions, "catalog" | "isSigned"> = {},
): Promise<ApiClient> {
  const app = Fastify();
  const access = projectAccessControl(db, new UserStore(db));
  await app.register(harborApi, { prefix: "/api/v2.0", db, access, ...options });
  await app.ready();
  return {
    app,
    call(method, path, { as, body, headers = {} } = {}) {
      const [username, password] = typeof as === "string" ? [as, passwordOf(as)] : (as ?? []);
      const authorization =
        username === undefined
          ? {}
          : { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` };
      return app.inject({
        method,
        url: `/api/v2.0${path}`,
        headers: { ...authorization, ...headers },
        ...(body === undefined ? {} : { payload: body as object }),
      });
    },
    close: () => app.close(),
  };
}
