import type { FastifyPluginAsync, FastifyReply } from "fastify";
import {
  type AccessPolicy,
  ANONYMOUS_PRINCIPAL,
  type AuthenticateBasic,
  type Principal,
  parseScopes,
  principalName,
} from "./access.js";
import { parseAuthorization } from "./authorization-header.js";
import { ANONYMOUS, type TokenService } from "./token-service.js";

export interface TokenRoutesOptions {
  readonly tokenService: TokenService;
  /** Users and robot accounts: `docker login` with a robot's name and secret works as with a user's. */
  readonly authenticate: AuthenticateBasic;
  readonly policy: Pick<AccessPolicy, "grantAccess">;
}

const TOKEN_LIFETIME_SECONDS = 300;
const FORM = "application/x-www-form-urlencoded";
// Not the code's stock "authentication required": docker reads that, without a detail, as a bare code,
// prints "unauthorized" alone and retries a push five times before giving up.
const WRONG_CREDENTIALS = "incorrect username or password, or the account is disabled or expired";

const tokenReply = {
  type: "object",
  required: ["token", "access_token", "expires_in", "issued_at"],
  properties: {
    token: { type: "string" },
    access_token: { type: "string" },
    expires_in: { type: "integer" },
    issued_at: { type: "string" },
  },
} as const;

// The errcode body docker prints; the Basic challenge lets curl and browsers know to send credentials.
function fail(reply: FastifyReply, status: 400 | 401, code: string, message: string) {
  if (status === 401) reply.header("www-authenticate", 'Basic realm="trustdock"');
  return reply.code(status).send({ errors: [{ code, message, detail: null }] });
}

/**
 * The Docker registry token endpoint: GET with HTTP Basic (or no) credentials, and the OAuth2 password
 * grant docker POSTs as a form. The token carries the requested scopes cut down to what the caller may do.
 */
export const tokenRoutes: FastifyPluginAsync<TokenRoutesOptions> = async (app, options) => {
  const { tokenService, authenticate, policy } = options;
  const respond = async (reply: FastifyReply, principal: Principal, scopes: readonly string[]) => {
    const access = await policy.grantAccess(principal, parseScopes(scopes));
    const token = tokenService.issue({
      subject: principalName(principal) ?? ANONYMOUS,
      access,
      expiresInSeconds: TOKEN_LIFETIME_SECONDS,
    });
    const issuedAt = new Date().toISOString();
    return reply.send({
      token,
      access_token: token,
      expires_in: TOKEN_LIFETIME_SECONDS,
      issued_at: issuedAt,
    });
  };

  // `service`, `account`, `client_id` and `offline_token` are accepted and not used: the audience is
  // always this service, the account is whoever the credentials say, and there are no refresh tokens.
  app.get<{ Querystring: { scope?: string[] } }>(
    "/service/token",
    {
      schema: {
        querystring: {
          type: "object",
          properties: {
            service: { type: "string" },
            account: { type: "string" },
            scope: { type: "array", items: { type: "string" } },
          },
        },
        response: { 200: tokenReply },
      },
    },
    async (request, reply) => {
      const credentials = parseAuthorization(request.headers.authorization);
      if (credentials.scheme === "malformed") {
        return fail(reply, 401, "UNAUTHORIZED", "the Authorization header cannot be read");
      }
      let principal = ANONYMOUS_PRINCIPAL;
      if (credentials.scheme === "basic") {
        const authenticated = await authenticate(credentials.username, credentials.password);
        if (!authenticated) return fail(reply, 401, "UNAUTHORIZED", WRONG_CREDENTIALS);
        principal = authenticated;
      }
      // A bearer token here is a client that still holds an old one: it is asking as anonymous.
      return respond(reply, principal, request.query.scope ?? []);
    },
  );

  // Ours within this plugin only, replacing any the app has: the handler below needs URLSearchParams.
  if (app.hasContentTypeParser(FORM)) app.removeContentTypeParser(FORM);
  app.addContentTypeParser(FORM, { parseAs: "string" }, (_request, body, done) => {
    done(null, new URLSearchParams(body as string));
  });

  // No body schema: the form arrives as URLSearchParams, whose repeated `scope` a JSON object would lose.
  app.post<{ Body: unknown }>(
    "/service/token",
    { schema: { response: { 200: tokenReply } } },
    async (request, reply) => {
      const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
      const grantType = form.get("grant_type");
      if (grantType === "refresh_token") {
        return fail(reply, 400, "UNSUPPORTED", "refresh tokens are not supported");
      }
      if (grantType !== "password") return fail(reply, 400, "UNSUPPORTED", "grant_type must be password");
      const username = form.get("username");
      const password = form.get("password");
      if (username === null || password === null) {
        return fail(reply, 400, "UNSUPPORTED", "username and password are required");
      }
      const principal = await authenticate(username, password);
      if (!principal) return fail(reply, 401, "UNAUTHORIZED", WRONG_CREDENTIALS);
      return respond(reply, principal, form.getAll("scope"));
    },
  );
};
