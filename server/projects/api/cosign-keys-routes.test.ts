import { generateKeyPairSync } from "node:crypto";
import { generateKeyPair, publicKeyToPem } from "../../../core/cosign/keys.js";
import { describeOnEachDatabase } from "../../../test/support/databases.js";
import { apiForSuite } from "../../../test/support/harbor-api.js";
import { cosignKeyMigrations } from "../../content-trust/cosign-key-store.js";
import { migrate } from "../../storage/migrations.js";
import type { ApiClient } from "../testing/api-client.js";

const PATH = "/projects/team/cosign-keys";
const pem = (algorithm: "ecdsa-p256" | "ecdsa-p384" | "ed25519") =>
  generateKeyPair("pw", algorithm).publicKeyPem;

describeOnEachDatabase("Harbor API: a project's trusted cosign keys", (factory) => {
  const suite = apiForSuite(factory, { prepare: (db) => migrate(db, "cosign-keys", cosignKeyMigrations) });
  let api: ApiClient;

  beforeAll(() => {
    api = suite.api;
  });

  it("lets the project admin add keys of each kind cosign verifies with, and members read them", async () => {
    const as = "projectadmin";
    const rsa = publicKeyToPem(generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey);
    const kinds = [
      ["p256", pem("ecdsa-p256"), "ecdsa-p256"],
      ["p384", pem("ecdsa-p384"), "ecdsa-p384"],
      ["ed", pem("ed25519"), "ed25519"],
      ["rsa", rsa, "rsa"],
    ] as const;
    const ids: number[] = [];
    for (const [name, publicKey, algorithm] of kinds) {
      const added = await api.call("POST", PATH, { as, body: { name, public_key: publicKey } });
      expect(added.statusCode).toBe(201);
      expect(added.json()).toMatchObject({ name, public_key: publicKey, algorithm, creator: as });
      expect(added.json().fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(added.headers.location).toBe(`/api/v2.0${PATH}/${added.json().id}`);
      ids.push(added.json().id);
    }
    const listed = await api.call("GET", PATH, { as: "guest" });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().map((k: { name: string }) => k.name)).toEqual(["p256", "p384", "ed", "rsa"]);
    for (const id of ids) expect((await api.call("DELETE", `${PATH}/${id}`, { as })).statusCode).toBe(200);
    expect((await api.call("GET", PATH, { as: "developer" })).json()).toEqual([]);
  });

  it("refuses keys cosign does not verify with, and the same key or name twice", async () => {
    const as = "projectadmin";
    const small = publicKeyToPem(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey);
    const p521 = publicKeyToPem(generateKeyPairSync("ec", { namedCurve: "P-521" }).publicKey);
    const cases: [string, RegExp][] = [
      [small, /RSA key of 1024 bits is too small/],
      [p521, /unsupported ECDSA curve/],
      ["not a key", /no PEM block/],
      [generateKeyPair("pw").privateKeyPem, /unsupported public key PEM type/],
    ];
    for (const [publicKey, reason] of cases) {
      const refused = await api.call("POST", PATH, { as, body: { name: "bad", public_key: publicKey } });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().errors[0].message).toMatch(reason);
    }
    const key = pem("ecdsa-p256");
    expect((await api.call("POST", PATH, { as, body: { name: "one", public_key: key } })).statusCode).toBe(
      201,
    );
    const again = await api.call("POST", PATH, { as, body: { name: "two", public_key: key } });
    expect(again.statusCode).toBe(409);
    expect(again.json().errors[0].message).toMatch(/already trusts this key, as one/);
    const sameName = await api.call("POST", PATH, { as, body: { name: "one", public_key: pem("ed25519") } });
    expect(sameName.statusCode).toBe(409);
    const badName = await api.call("POST", PATH, { as, body: { name: "a b", public_key: key } });
    expect(badName.statusCode).toBe(400);
  });

  it("keeps changes to the project admin, and the keys of a private project from outsiders", async () => {
    const body = { name: "dev", public_key: pem("ecdsa-p256") };
    expect((await api.call("POST", PATH, { as: "maintainer", body })).statusCode).toBe(403);
    expect((await api.call("POST", PATH, { body })).statusCode).toBe(401);
    expect((await api.call("GET", PATH, { as: "outsider" })).statusCode).toBe(403);
    expect((await api.call("GET", PATH)).statusCode).toBe(401);
    const [first] = (await api.call("GET", PATH, { as: "guest" })).json();
    expect((await api.call("DELETE", `${PATH}/${first.id}`, { as: "maintainer" })).statusCode).toBe(403);
    expect((await api.call("DELETE", `${PATH}/999999`, { as: "projectadmin" })).statusCode).toBe(404);
  });

  it("appears in the served OpenAPI document", async () => {
    const document = (await api.call("GET", "/openapi.json")).json();
    expect(Object.keys(document.paths["/projects/{project_name_or_id}/cosign-keys"])).toEqual([
      "get",
      "post",
    ]);
    expect(Object.keys(document.paths["/projects/{project_name_or_id}/cosign-keys/{key_id}"])).toEqual([
      "delete",
    ]);
    expect(document.components.schemas.CosignKeyReq.required).toEqual(["name", "public_key"]);
  });
});
