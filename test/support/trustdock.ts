import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../../server/app.js";
import { ensureAdmin } from "../../server/auth/ensure-admin.js";
import { SignerClient } from "../../server/signer-client.js";
import type { Db } from "../../server/storage/db.js";
import { openDatabase } from "../../server/storage/open.js";
import { ensureTlsMaterial, type TlsMaterialPaths } from "../../server/tls/certificate-authority.js";
import { passphrasesFromEnv } from "../../signer/passphrases.js";
import { type RunningSigner, startSigner } from "../../signer/run.js";
import type { DatabaseFactory } from "./databases.js";

export const ADMIN_PASSWORD = "admin-test-password";

export interface TestTrustdock {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`: the registry host that starts every GUN. */
  hostPort: string;
  dataDir: string;
  tls: TlsMaterialPaths;
  db: Db;
  app: FastifyInstance;
  stopSigner(): Promise<void>;
  startSigner(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A whole Trustdock as `trustdock up` runs it (signer over mutual TLS, HTTPS server), on free loopback
 * ports, embedded storage in a temporary folder or the PostgreSQL database at `databaseUrl`.
 */
export async function startTestTrustdock(
  opts: { databaseUrl?: string; clock?: () => Date; admissionPolicyFile?: string } = {},
): Promise<TestTrustdock> {
  const dataDir = mkdtempSync(join(tmpdir(), "trustdock-test-"));
  const tls = ensureTlsMaterial(join(dataDir, "tls"), { hosts: ["127.0.0.1"] });
  const pem = (file: string) => readFileSync(file, "utf8");
  const passphrases = passphrasesFromEnv({ TRUSTDOCK_SIGNER_PASSPHRASE_DEFAULT: "test-signer-passphrase" });
  let signerAddr = "127.0.0.1:0";
  let signer: RunningSigner | undefined;
  const launchSigner = async () => {
    signer = await startSigner({
      addr: signerAddr,
      dbUrl: opts.databaseUrl,
      dataDir,
      passphrases,
      tls: { cert: pem(tls.signerCert), key: pem(tls.signerKey), ca: pem(tls.caCert) },
    });
    signerAddr = new URL(signer.url).host;
  };
  await launchSigner();
  const signerClient = new SignerClient({
    url: `https://${signerAddr}`,
    ca: pem(tls.caCert),
    cert: pem(tls.signerClientCert),
    key: pem(tls.signerClientKey),
    timeoutMs: 3000,
  });
  const db = await openDatabase({ url: opts.databaseUrl, dataDir, name: "server" });
  const app = await buildServer({
    db,
    signer: signerClient,
    tls: { cert: pem(tls.serverCert), key: pem(tls.serverKey) },
    blobDir: join(dataDir, "blobs"),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.admissionPolicyFile ? { admissionPolicyFile: opts.admissionPolicyFile } : {}),
  });
  await ensureAdmin(db, ADMIN_PASSWORD);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    dataDir,
    tls,
    db,
    app,
    async stopSigner() {
      await signer?.close();
      signer = undefined;
    },
    startSigner: launchSigner,
    async close() {
      await app.close();
      signerClient.close();
      await signer?.close();
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * One Trustdock for a whole suite, on a fresh database of `databases`' kind: started before the suite's
 * tests and closed after them. `td` is set once the suite's first hook has run.
 */
export function trustdockForSuite(
  databases: DatabaseFactory,
  opts: { clock?: () => Date; admissionPolicyFile?: string } = {},
): { readonly td: TestTrustdock; beforeClose(cleanup: () => Promise<void>): void } {
  const cleanups: Array<() => Promise<void>> = [];
  const suite = {
    td: undefined as unknown as TestTrustdock, // set by the first beforeAll, before any test reads it
    beforeClose: (cleanup: () => Promise<void>) => void cleanups.push(cleanup),
  };
  let dispose: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const target = await databases.create();
    dispose = target.dispose;
    suite.td = await startTestTrustdock({ ...opts, databaseUrl: target.url });
  });
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
    await suite.td?.close();
    await dispose?.();
  });
  return suite;
}
