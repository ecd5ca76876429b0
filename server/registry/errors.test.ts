import Fastify from "fastify";
import { AuthError } from "../auth/errors.js";
import { DatabaseUnavailableError } from "../storage/db.js";
import { RegistryError, replyRegistryError } from "./errors.js";
import { PullPolicyError } from "./pull-policy.js";

/** What the one error replier makes of `err`: status, the headers that matter, and the body. */
async function replyTo(err: unknown) {
  const app = Fastify();
  app.get("/", async (request, reply) => replyRegistryError(err, request, reply));
  const res = await app.inject({ method: "GET", url: "/" });
  await app.close();
  return {
    status: res.statusCode,
    version: res.headers["docker-distribution-api-version"],
    challenge: res.headers["www-authenticate"],
    body: res.json(),
  };
}

describe("replyRegistryError", () => {
  it("writes a registry refusal as the spec's error JSON, with its status and headers", async () => {
    const res = await replyTo(
      new RegistryError("BLOB_UPLOAD_INVALID", "out of order", { status: 416, detail: { at: 3 } }),
    );
    expect(res).toEqual({
      status: 416,
      version: "registry/2.0",
      challenge: undefined,
      body: { errors: [{ code: "BLOB_UPLOAD_INVALID", message: "out of order", detail: { at: 3 } }] },
    });
    expect((await replyTo(new RegistryError("MANIFEST_BLOB_UNKNOWN", "missing"))).status).toBe(400);
    expect((await replyTo(new RegistryError("NAME_UNKNOWN", "no such repository"))).status).toBe(404);
  });

  it("turns an AuthError into 401 or 403 with its challenge", async () => {
    const challenge = 'Bearer realm="https://x/service/token",service="trustdock",scope="repository:a:pull"';
    const unauthorized = await replyTo(new AuthError("UNAUTHORIZED", "authentication required", challenge));
    expect([unauthorized.status, unauthorized.challenge, unauthorized.body.errors[0].code]).toEqual([
      401,
      challenge,
      "UNAUTHORIZED",
    ]);
    const denied = await replyTo(new AuthError("DENIED", "no", challenge));
    expect([denied.status, denied.body.errors[0].code]).toEqual([403, "DENIED"]);
  });

  it("details the access an AuthError refused as distribution does, which docker needs to read the message", async () => {
    const challenge =
      'Bearer realm="https://x/service/token",service="trustdock",scope="repository:a/b:pull,push"';
    const res = await replyTo(
      new AuthError("DENIED", "requested access to the resource is denied", challenge, {
        type: "repository",
        name: "a/b",
        actions: ["pull", "push"],
      }),
    );
    expect(res.body.errors).toEqual([
      {
        code: "DENIED",
        message: "requested access to the resource is denied",
        detail: [
          { Type: "repository", Class: "", Name: "a/b", Action: "pull" },
          { Type: "repository", Class: "", Name: "a/b", Action: "push" },
        ],
      },
    ]);
  });

  it("answers an unreachable database with 503, a refused pull with 412, anything else with 500", async () => {
    const down = await replyTo(new DatabaseUnavailableError("gone"));
    expect([down.status, down.body.errors[0].code]).toEqual([503, "UNAVAILABLE"]);
    const policy = await replyTo(new PullPolicyError("unsigned", "PROJECTPOLICYVIOLATION"));
    expect([policy.status, policy.body.errors[0].code]).toEqual([412, "PROJECTPOLICYVIOLATION"]);
    const bug = await replyTo(new TypeError("undefined is not a function"));
    expect(bug.status).toBe(500);
    // The message of an unexpected error stays in the log, not in the answer.
    expect(bug.body).toEqual({ errors: [{ code: "UNKNOWN", message: "unknown error", detail: null }] });
    expect(bug.version).toBe("registry/2.0");
  });
});
