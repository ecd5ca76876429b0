import { createHash, createPrivateKey, type KeyObject } from "node:crypto";
import { canonicalJson } from "../core/canonical-json.js";
import { toBase64 } from "../core/encoding.js";
import { verifySignature } from "../core/tuf/signatures.js";
import type { Db } from "../server/storage/db.js";
import { migrate } from "../server/storage/migrations.js";
import { describeOnEachDatabase } from "../test/support/databases.js";
import { PassphraseSealer } from "./encryption.js";
import { KeyStore, reencryptKeys } from "./key-store.js";
import { SIGNER_MIGRATIONS } from "./migrations.js";
import { passphrasesFromEnv } from "./passphrases.js";
import type { KeyAlgorithm, TufPublicKey } from "./protocol.js";

const OLD = "correct horse battery staple";
const NEW = "tr0ub4dor&3";
const env = { TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT: OLD };
const data = new TextEncoder().encode('{"signed":{"_type":"snapshot","version":3}}');

interface StoredRow {
  key_id: string;
  algorithm: string;
  public_key: string;
  encrypted_private_key: Uint8Array;
  passphrase_alias: string;
  gun: string | null;
  role: string | null;
}

describeOnEachDatabase("KeyStore", (factory) => {
  let db: Db;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    ({ db, dispose } = await factory.create());
    await migrate(db, "signer", SIGNER_MIGRATIONS);
  });
  afterEach(() => dispose());

  const rowOf = async (keyId: string): Promise<StoredRow> => {
    const [row] = await db.query<StoredRow>("SELECT * FROM signer_keys WHERE key_id = $1", [keyId]);
    if (row === undefined) throw new Error(`no row for ${keyId}`);
    return row;
  };

  it.each<[KeyAlgorithm, string]>([
    ["ecdsa", "ecdsa"],
    ["ed25519", "eddsa"],
  ])("creates %s keys whose signatures verify as notary's method %s", async (algorithm, expectedMethod) => {
    const keys = new KeyStore(db, passphrasesFromEnv(env));
    const key = await keys.create(algorithm, { gun: "example.com/app", role: "timestamp" });
    expect(key.keyId).toBe(createHash("sha256").update(canonicalJson(key.publicKey)).digest("hex"));
    expect(await keys.get(key.keyId)).toEqual(key);
    const { method, signature } = await keys.sign(key.keyId, data);
    expect(method).toBe(expectedMethod);
    expect(verifies(key, method, signature)).toBe(true);
    const row = await rowOf(key.keyId);
    expect([row.gun, row.role, row.passphrase_alias]).toEqual(["example.com/app", "timestamp", "default"]);
  });

  it.each<KeyAlgorithm>(["ecdsa", "ed25519"])(
    "stores no %s private key bytes in clear",
    async (algorithm) => {
      const keys = new KeyStore(db, passphrasesFromEnv(env));
      const { keyId } = await keys.create(algorithm);
      const row = await rowOf(keyId);
      const pkcs8 = await new PassphraseSealer(passphrasesFromEnv(env)).unseal(
        row.encrypted_private_key,
        "default",
        keyId,
      );
      const secret = privateScalar(createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }));
      const stored = Buffer.from(row.encrypted_private_key);
      expect(stored.includes(pkcs8)).toBe(false);
      expect(stored.includes(secret)).toBe(false);
      const text = JSON.stringify(row, (_k, v) =>
        v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v,
      );
      for (const encoding of ["hex", "base64"] as const) {
        expect(text).not.toContain(pkcs8.toString(encoding));
        expect(text).not.toContain(secret.toString(encoding));
      }
    },
  );

  it("reports unknown keys as KEY_NOT_FOUND and forgets deleted ones", async () => {
    const keys = new KeyStore(db, passphrasesFromEnv(env));
    const unknown = "0".repeat(64);
    await expect(keys.get(unknown)).rejects.toMatchObject({ code: "KEY_NOT_FOUND" });
    await expect(keys.sign(unknown, data)).rejects.toMatchObject({ code: "KEY_NOT_FOUND" });
    await expect(keys.delete(unknown)).rejects.toMatchObject({ code: "KEY_NOT_FOUND" });
    const { keyId } = await keys.create("ecdsa");
    await keys.delete(keyId);
    await expect(keys.sign(keyId, data)).rejects.toMatchObject({ code: "KEY_NOT_FOUND" });
  });

  it("refuses a wrong passphrase at start-up with the variable to fix", async () => {
    const { keyId } = await new KeyStore(db, passphrasesFromEnv(env)).create("ecdsa");
    const restarted = new KeyStore(db, passphrasesFromEnv({ TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT: "guess" }));
    await expect(restarted.checkPassphrases()).rejects.toMatchObject({
      code: "DECRYPTION_FAILED",
      message: expect.stringMatching(
        /TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT does not decrypt private key .*wrong passphrase/,
      ),
    });
    await expect(restarted.sign(keyId, data)).rejects.toMatchObject({ code: "DECRYPTION_FAILED" });
  });

  it("refuses to start when an alias in use has no passphrase", async () => {
    await new KeyStore(db, passphrasesFromEnv(env)).create("ecdsa");
    const restarted = new KeyStore(
      db,
      passphrasesFromEnv({ TRUSTDOCK_SIGNER_DEFAULT_ALIAS: "next", TRUSTDOCK_SIGNER_PASSPHRASE_NEXT: NEW }),
    );
    await expect(restarted.checkPassphrases()).rejects.toMatchObject({
      code: "PASSPHRASE_MISSING",
      message: expect.stringContaining("set TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT"),
    });
  });

  it("re-encrypts every key under a new alias, after which only the new passphrase decrypts them", async () => {
    const keys = new KeyStore(db, passphrasesFromEnv(env));
    const created = [await keys.create("ecdsa"), await keys.create("ed25519")];
    const both = passphrasesFromEnv({ ...env, TRUSTDOCK_SIGNER_PASSPHRASE_NEXT: NEW });
    expect(await reencryptKeys(db, "next", both)).toBe(2);

    const rotated = new KeyStore(
      db,
      passphrasesFromEnv({ TRUSTDOCK_SIGNER_DEFAULT_ALIAS: "next", TRUSTDOCK_SIGNER_PASSPHRASE_NEXT: NEW }),
    );
    await rotated.checkPassphrases();
    const oldUnderNewName = new PassphraseSealer(
      passphrasesFromEnv({ TRUSTDOCK_SIGNER_PASSPHRASE_NEXT: OLD }),
    );
    for (const key of created) {
      const row = await rowOf(key.keyId);
      expect(row.passphrase_alias).toBe("next");
      await expect(
        oldUnderNewName.unseal(row.encrypted_private_key, "next", key.keyId),
      ).rejects.toMatchObject({
        code: "DECRYPTION_FAILED",
      });
      const { method, signature } = await rotated.sign(key.keyId, data);
      expect(verifies(key, method, signature)).toBe(true);
    }
  });

  it("re-encrypts all keys or none", async () => {
    const keys = new KeyStore(db, passphrasesFromEnv(env));
    const good = await keys.create("ecdsa");
    const orphaned = new KeyStore(
      db,
      passphrasesFromEnv({
        TRUSTDOCK_SIGNER_DEFAULT_ALIAS: "lost",
        TRUSTDOCK_SIGNER_PASSPHRASE_LOST: "gone",
      }),
    );
    await orphaned.create("ecdsa");
    const withoutLost = passphrasesFromEnv({ ...env, TRUSTDOCK_SIGNER_PASSPHRASE_NEXT: NEW });
    await expect(reencryptKeys(db, "next", withoutLost)).rejects.toMatchObject({
      code: "PASSPHRASE_MISSING",
    });
    expect((await rowOf(good.keyId)).passphrase_alias).toBe("default");
  });
});

// The check the trust server and notary's clients make: the key, the method named, the bytes.
function verifies(
  key: { keyId: string; publicKey: TufPublicKey },
  method: string,
  signature: Uint8Array,
): boolean {
  return verifySignature(key.publicKey, { keyid: key.keyId, method, sig: toBase64(signature) }, data);
}

// The secret itself (P-256's d, Ed25519's seed), in case a store kept it outside its PKCS#8 wrapping.
function privateScalar(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: "jwk" }).d ?? "", "base64url");
}
