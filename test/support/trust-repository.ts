import type { FastifyInstance } from "fastify";
import type { FileMeta, PublicKey } from "../../core/tuf/types.js";
import { publishBody } from "./multipart.js";
import { ecKey, rootSigned, signedBytes, type TestKey, targetsSigned } from "./tuf-builders.js";

/** One trust API call: method, path under `/v2/<gun>/_trust/`, optional multipart body. */
export type TrustCall = (
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: { body: Buffer; contentType: string },
) => Promise<{ status: number; body: Buffer }>;

/** Trust API calls through `app.inject` to `gun`'s trust data, with `authorization` on every one. */
export function injectedTrustCall(
  app: { inject: FastifyInstance["inject"] },
  authorization: string,
  gun: string,
): TrustCall {
  return async (method, path, body) => {
    const res = await app.inject({
      method,
      url: `/v2/${gun}/_trust/${path}`,
      headers: { authorization, ...(body ? { "content-type": body.contentType } : {}) },
      ...(body ? { payload: body.body } : {}),
    });
    return { status: res.statusCode, body: res.rawPayload };
  };
}

/** The TUF target that signs a pushed manifest: its length and sha256, as `docker trust sign` writes them. */
export function manifestTarget(manifest: { digest: string; size: number }): FileMeta {
  return {
    length: manifest.size,
    hashes: { sha256: Buffer.from(manifest.digest.slice("sha256:".length), "hex").toString("base64") },
  };
}

/**
 * A repository published the way `notary init` does with a server-managed snapshot key: the test holds
 * the root and targets keys, the server its snapshot and timestamp keys.
 */
export class TestRepository {
  private constructor(
    private readonly call: TrustCall,
    readonly rootKey: TestKey,
    readonly targetsKey: TestKey,
    readonly rootBytes: Uint8Array,
    readonly targetsBytes: Uint8Array,
  ) {}

  static async create(call: TrustCall, targets: Record<string, FileMeta> = {}): Promise<TestRepository> {
    const key = async (role: string) => {
      const res = await call("GET", `tuf/${role}.key`);
      if (res.status !== 200)
        throw new Error(`GET ${role}.key answered ${res.status}: ${res.body.toString()}`);
      return JSON.parse(res.body.toString()) as PublicKey;
    };
    const rootKey = ecKey();
    const targetsKey = ecKey();
    const root = rootSigned(1, [rootKey], {
      targets: targetsKey,
      snapshot: await key("snapshot"),
      timestamp: await key("timestamp"),
    });
    const rootBytes = signedBytes(root, rootKey);
    const targetsBytes = signedBytes(targetsSigned(1, { targets }), targetsKey);
    const res = await call(
      "POST",
      "tuf/",
      await publishBody([
        { role: "root", bytes: rootBytes },
        { role: "targets", bytes: targetsBytes },
      ]),
    );
    if (res.status !== 200) throw new Error(`first publish answered ${res.status}: ${res.body.toString()}`);
    return new TestRepository(call, rootKey, targetsKey, rootBytes, targetsBytes);
  }

  /** Publishes `targets` at `version`; the answer as the server gave it. */
  async publishTargets(version: number, targets: Record<string, FileMeta>) {
    const bytes = Buffer.from(signedBytes(targetsSigned(version, { targets }), this.targetsKey));
    const res = await this.call("POST", "tuf/", await publishBody([{ role: "targets", bytes }]));
    return { ...res, bytes };
  }
}
