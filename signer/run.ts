import { type AddressInfo, isIP } from "node:net";
import { migrate } from "../server/storage/migrations.js";
import { openDatabase } from "../server/storage/open.js";
import { buildSignerApp, type SignerTls } from "./app.js";
import { SignerError } from "./errors.js";
import { KeyStore } from "./key-store.js";
import { SIGNER_MIGRATIONS } from "./migrations.js";
import { type Passphrases, passphrasesFromEnv } from "./passphrases.js";

export interface StartSignerOptions {
  /** `host:port`, `[v6]:port`; port 0 picks a free one. */
  readonly addr: string;
  /** PostgreSQL; without it, embedded PGlite under `dataDir/signer`. */
  readonly dbUrl?: string;
  readonly dataDir: string;
  readonly tls: SignerTls;
  /** Defaults to the TRUSTDOCK_SIGNER_* environment variables. */
  readonly passphrases?: Passphrases;
  readonly logger?: boolean;
}

export interface RunningSigner {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Opens and migrates the key database, proves the passphrases decrypt the stored keys, then listens.
 * Any of these failing rejects with a message meant for the operator, and nothing is left running.
 */
export async function startSigner(opts: StartSignerOptions): Promise<RunningSigner> {
  const passphrases = opts.passphrases ?? passphrasesFromEnv();
  // The commonest misconfiguration, caught before a database is opened or migrated.
  passphrases.passphraseFor(passphrases.defaultAlias);
  const { host, port } = parseAddr(opts.addr);
  const db = await openDatabase({ url: opts.dbUrl, dataDir: opts.dataDir, name: "signer" });
  try {
    await migrate(db, "signer", SIGNER_MIGRATIONS);
    const keys = new KeyStore(db, passphrases);
    await keys.checkPassphrases();
    const app = buildSignerApp({ db, keys, tls: opts.tls, logger: opts.logger });
    try {
      await app.listen({ host, port });
    } catch (err) {
      await app.close();
      throw err;
    }
    const bound = (app.server.address() as AddressInfo).port;
    return {
      url: `https://${urlHost(host)}:${bound}`,
      async close() {
        await app.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

function parseAddr(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(":");
  const host = addr.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(addr.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SignerError("INVALID_REQUEST", `signer address "${addr}" is not host:port`);
  }
  return { host: host || "0.0.0.0", port };
}

// A wildcard address is reachable on loopback, which the signer's certificate covers.
function urlHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return isIP(host) === 6 ? `[${host}]` : host;
}
