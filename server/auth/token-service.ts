import { randomBytes, sign, verify } from "node:crypto";
import type { Queryable } from "../storage/db.js";
import { type Access, isAction } from "./access.js";
import { InvalidTokenError } from "./errors.js";
import { decodeJwt, encodeJwt } from "./jwt.js";
import { loadSigningKey, type SigningKey } from "./signing-key.js";

/** The subject of a token issued without credentials. */
export const ANONYMOUS = "";

/** The claims of a Docker registry token. */
export interface TokenClaims {
  readonly iss: string;
  /** The username, or ANONYMOUS. */
  readonly sub: string;
  readonly aud: string;
  readonly exp: number;
  readonly nbf: number;
  readonly iat: number;
  readonly jti: string;
  readonly access: Access[];
}

export interface TokenServiceOptions {
  /** `iss`, default "trustdock". */
  readonly issuer?: string;
  /** `aud`: the service name clients pass as `service`, default "trustdock". */
  readonly service?: string;
  /** Milliseconds since the epoch; tests move it. */
  readonly now?: () => number;
}

const ALGORITHM = "ES256";
// Several processes (and the clients' clocks) disagree by a little; distribution allows the same minute.
const LEEWAY_SECONDS = 60;
const MAX_VERIFIED_TOKENS = 10_000;

function isAccess(value: unknown): value is Access {
  if (typeof value !== "object" || value === null) return false;
  const { type, name, actions } = value as Record<string, unknown>;
  return (
    (type === "repository" || type === "registry") &&
    typeof name === "string" &&
    Array.isArray(actions) &&
    actions.every(isAction)
  );
}

function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** Issues and checks the bearer tokens of the Docker token spec, signed ES256 with the database's key. */
export class TokenService {
  readonly issuer: string;
  readonly service: string;
  private readonly now: () => number;
  private readonly verified = new Map<string, TokenClaims>();

  constructor(
    private readonly key: SigningKey,
    options: TokenServiceOptions = {},
  ) {
    this.issuer = options.issuer ?? "trustdock";
    this.service = options.service ?? "trustdock";
    this.now = options.now ?? Date.now;
  }

  /** A service with the key stored in `db` (created on first use), shared by every process on it. */
  static async open(db: Queryable, options: TokenServiceOptions = {}): Promise<TokenService> {
    return new TokenService(await loadSigningKey(db), options);
  }

  issue(request: { subject: string; access: readonly Access[]; expiresInSeconds?: number }): string {
    const { subject, access, expiresInSeconds = 300 } = request;
    const iat = Math.floor(this.now() / 1000);
    const claims: TokenClaims = {
      iss: this.issuer,
      sub: subject,
      aud: this.service,
      exp: iat + expiresInSeconds,
      nbf: iat,
      iat,
      jti: randomBytes(16).toString("base64url"),
      access: access.map(({ type, name, actions }) => ({ type, name, actions: [...actions] })),
    };
    return encodeJwt({ typ: "JWT", alg: ALGORITHM, kid: this.key.kid }, claims, (input) =>
      sign("sha256", input, { key: this.key.privateKey, dsaEncoding: "ieee-p1363" }),
    );
  }

  /** The claims of a token this service's key signed for this service, still valid; else InvalidTokenError. */
  verify(token: string): TokenClaims {
    const claims = this.verified.get(token) ?? this.verifySignatureAndShape(token);
    const now = this.now() / 1000;
    if (claims.exp + LEEWAY_SECONDS <= now) throw new InvalidTokenError("token has expired");
    if (claims.nbf - LEEWAY_SECONDS > now) throw new InvalidTokenError("token is not valid yet");
    return claims;
  }

  /**
   * The signature check is most of a read's cost and a client sends the same token for its whole life,
   * so tokens whose signature and claims checked out are remembered (times are still checked each use).
   */
  private verifySignatureAndShape(token: string): TokenClaims {
    const { header, payload, signingInput, signature } = decodeJwt(token);
    // The algorithm is ours to decide, never the token's: anything but ES256 under our kid is refused.
    if (header.alg !== ALGORITHM || header.kid !== this.key.kid) {
      throw new InvalidTokenError("token is not signed with this server's key");
    }
    const key = { key: this.key.publicKey, dsaEncoding: "ieee-p1363" } as const;
    if (!verify("sha256", signingInput, key, signature)) {
      throw new InvalidTokenError("token signature is invalid");
    }
    const claims = this.checkShape(payload);
    if (claims.iss !== this.issuer) throw new InvalidTokenError(`token issuer is not ${this.issuer}`);
    if (claims.aud !== this.service) throw new InvalidTokenError(`token is not meant for ${this.service}`);
    if (this.verified.size >= MAX_VERIFIED_TOKENS) this.verified.clear();
    this.verified.set(token, claims);
    return claims;
  }

  private checkShape(payload: Record<string, unknown>): TokenClaims {
    const { iss, sub, exp, nbf, iat, jti, access } = payload;
    // RFC 7519 allows `aud` as one string or a list; we issue one, but read both.
    const aud = Array.isArray(payload.aud) && payload.aud.includes(this.service) ? this.service : payload.aud;
    if (
      typeof iss !== "string" ||
      typeof sub !== "string" ||
      typeof aud !== "string" ||
      typeof jti !== "string" ||
      !isTime(exp) ||
      !isTime(nbf) ||
      !isTime(iat) ||
      !Array.isArray(access) ||
      !access.every(isAccess)
    ) {
      throw new InvalidTokenError("token claims are malformed");
    }
    return { iss, sub, aud, exp, nbf, iat, jti, access };
  }
}
