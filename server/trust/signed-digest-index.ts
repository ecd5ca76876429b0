import { parseMetaFile } from "../../core/tuf/parse.js";
import { signedDigests } from "../../core/tuf/signed-digests.js";
import type { Db } from "../storage/db.js";
import { type MetadataStore, TRUST_CHANGES_CHANNEL } from "./metadata-store.js";

/**
 * Which image digests the Notary trust data of a repository signs, as the registry asks on every pull
 * of a project with content trust on. Answers are cached per repository path and dropped when any
 * process publishes or deletes trust data for it (NOTIFY), or everything is dropped after a gap.
 */
export class SignedDigestIndex {
  private readonly cache = new Map<string, Promise<Set<string>>>();
  private stopListening: (() => Promise<void>) | undefined;

  constructor(
    private readonly db: Db,
    private readonly store: MetadataStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.db.listen(
      TRUST_CHANGES_CHANNEL,
      (gun) => this.cache.delete(gun.slice(gun.indexOf("/") + 1)),
      () => this.cache.clear(),
    );
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
  }

  /** Whether trust data for `<any registry host>/<path>` signs the manifest with this sha256 (hex). */
  async isSigned(path: string, sha256Hex: string): Promise<boolean> {
    let digests = this.cache.get(path);
    if (!digests) {
      digests = this.load(path);
      this.cache.set(path, digests);
      digests.catch(() => this.cache.delete(path));
    }
    return (await digests).has(sha256Hex);
  }

  // The same repository may have been signed under several registry names (localhost:5000, 127.0.0.1:5000).
  private async load(path: string): Promise<Set<string>> {
    const all = new Set<string>();
    for (const gun of await this.store.gunsForPath(path)) {
      const files = await this.store.allCurrent(gun);
      const parsed = new Map([...files].map(([role, f]) => [role, parseMetaFile(role, f.data)]));
      for (const digest of signedDigests(parsed, this.now())) all.add(digest);
    }
    return all;
  }
}
