import { describeOnEachDatabase } from "../../test/support/databases.js";
import type { Db } from "../storage/db.js";
import { migrate } from "../storage/migrations.js";
import type { Access } from "./access.js";
import { decodeJwt, encodeJwt } from "./jwt.js";
import { authMigrations } from "./migrations.js";
import { loadSigningKey } from "./signing-key.js";
import { TokenService } from "./token-service.js";

const access: Access[] = [
  { type: "repository", name: "127.0.0.1:5000/library/app", actions: ["pull", "push"] },
];

describeOnEachDatabase("TokenService", (factory) => {
  let db: Db;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    ({ db, dispose } = await factory.create());
    await migrate(db, "auth", authMigrations);
  });
  afterEach(() => dispose());

  it("issues tokens with the Docker token spec's claims, valid for five minutes", async () => {
    const now = Date.UTC(2030, 0, 1) + 123;
    const service = await TokenService.open(db, { now: () => now });
    const token = service.issue({ subject: "admin", access });

    const { header } = decodeJwt(token);
    expect(header).toMatchObject({ typ: "JWT", alg: "ES256" });
    const claims = service.verify(token);
    const iat = Math.floor(now / 1000);
    expect(claims).toEqual({
      iss: "trustdock",
      sub: "admin",
      aud: "trustdock",
      iat,
      nbf: iat,
      exp: iat + 300,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      access,
    });
    expect(service.verify(service.issue({ subject: "admin", access })).jti).not.toBe(claims.jti);
  });

  it("shares one key between services on one database, so each accepts the other's tokens", async () => {
    const [first, second] = await Promise.all([TokenService.open(db), TokenService.open(db)]);
    const third = await TokenService.open(db);
    expect(second.verify(first.issue({ subject: "admin", access })).sub).toBe("admin");
    expect(first.verify(third.issue({ subject: "admin", access })).sub).toBe("admin");
    const keys = await db.query("SELECT name FROM token_signing_keys");
    expect(keys).toHaveLength(1);
  });

  it("rejects a token whose payload was changed after signing", async () => {
    const service = await TokenService.open(db);
    const [header, payload, signature] = service.issue({ subject: "alice", access: [] }).split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    const widened = Buffer.from(JSON.stringify({ ...claims, access })).toString("base64url");
    expect(() => service.verify(`${header}.${widened}.${signature}`)).toThrow("token signature is invalid");
  });

  it("rejects a token signed by another database's key, even under this key's id", async () => {
    const other = await factory.create();
    try {
      await migrate(other.db, "auth", authMigrations);
      const service = await TokenService.open(db);
      const ourKid = decodeJwt(service.issue({ subject: "admin", access })).header.kid as string;
      const foreignKey = await loadSigningKey(other.db);
      const foreign = new TokenService(foreignKey);
      const impostor = new TokenService({ ...foreignKey, kid: ourKid });
      expect(() => service.verify(foreign.issue({ subject: "admin", access }))).toThrow(
        "token is not signed with this server's key",
      );
      expect(() => service.verify(impostor.issue({ subject: "admin", access }))).toThrow(
        "token signature is invalid",
      );
    } finally {
      await other.dispose();
    }
  });

  it("rejects a token that names another algorithm, whatever its signature", async () => {
    const service = await TokenService.open(db);
    const { header, payload } = decodeJwt(service.issue({ subject: "admin", access }));
    const none = encodeJwt({ ...header, alg: "none" }, payload, () => Buffer.alloc(0));
    expect(() => service.verify(none)).toThrow("token is not signed with this server's key");
  });

  it("rejects expired tokens, allowing a minute of clock skew", async () => {
    let now = Date.now();
    const service = await TokenService.open(db, { now: () => now });
    const token = service.issue({ subject: "admin", access, expiresInSeconds: 300 });
    now += 330_000;
    expect(service.verify(token).sub).toBe("admin");
    now += 60_000;
    expect(() => service.verify(token)).toThrow("token has expired");
  });

  it("rejects tokens not valid yet", async () => {
    const later = await TokenService.open(db, { now: () => Date.now() + 3_600_000 });
    const service = await TokenService.open(db);
    expect(() => service.verify(later.issue({ subject: "admin", access }))).toThrow("token is not valid yet");
  });

  it("rejects tokens for another audience or from another issuer", async () => {
    const service = await TokenService.open(db);
    const otherAudience = await TokenService.open(db, { service: "registry.example" });
    const otherIssuer = await TokenService.open(db, { issuer: "harbor" });
    expect(() => service.verify(otherAudience.issue({ subject: "admin", access }))).toThrow(
      "token is not meant for trustdock",
    );
    expect(() => service.verify(otherIssuer.issue({ subject: "admin", access }))).toThrow(
      "token issuer is not trustdock",
    );
  });
});
