import type { KeyObject } from "node:crypto";
import { parsePublicKeyPem } from "../../core/cosign/keys.js";
import { PROJECT_CHANGES_CHANNEL } from "../projects/project-store.js";
import { MANIFEST_CHANGES_CHANNEL } from "../registry/manifest-cache.js";
import type { Db } from "../storage/db.js";
import type { CosignVerdict } from "./cosign-verification.js";

/** The PEM keys a project trusts, by project name. */
export type TrustedKeySource = (project: string) => Promise<ReadonlyArray<{ publicKeyPem: string }>>;

// A verdict is a few dozen bytes; the bound keeps a scan of many digests from growing the map unbounded.
const MAX_VERDICTS = 50_000;

/**
 * Cosign pull verdicts by (repository, digest), and each project's parsed keys. A repository's verdicts
 * are dropped when any process commits a change to its manifests or tags (a signature pushed or deleted
 * is one: NOTIFY from the registry's triggers) and at once by this process's own registry writes; a
 * project's keys and verdicts when the project or its keys change (NOTIFY on the projects' channel);
 * everything after a gap in either. A process that cannot listen does not cache.
 *
 * An entry is the verification's promise from its start, so a change committed while it runs drops it
 * and its answer is not kept past the change.
 */
export class CosignVerdictCache {
  private readonly verdicts = new Map<string, Map<string, Promise<CosignVerdict>>>();
  private readonly keys = new Map<string, Promise<KeyObject[]>>();
  private count = 0;
  private listening = false;
  private readonly stops: Array<() => Promise<void>> = [];

  constructor(
    private readonly db: Db,
    private readonly trustedKeys: TrustedKeySource,
  ) {}

  async start(): Promise<void> {
    try {
      this.stops.push(
        await this.db.listen(
          MANIFEST_CHANGES_CHANNEL,
          (repository) => (repository === "" ? this.clear() : this.repositoryChanged(repository)),
          () => this.clear(),
        ),
        await this.db.listen(
          PROJECT_CHANGES_CHANNEL,
          (project) => this.projectChanged(project),
          () => this.clear(),
        ),
      );
      this.listening = true;
    } catch {
      await this.stop();
    }
  }

  async stop(): Promise<void> {
    this.listening = false;
    this.clear();
    await Promise.all(this.stops.splice(0).map((stop) => stop()));
  }

  /** The keys the project trusts, parsed once per change of them. */
  projectKeys(project: string): Promise<KeyObject[]> {
    if (!this.listening) return this.loadKeys(project);
    let keys = this.keys.get(project);
    if (!keys) {
      keys = this.loadKeys(project);
      this.keys.set(project, keys);
      const kept = keys;
      kept.catch(() => this.keys.get(project) === kept && this.keys.delete(project));
    }
    return keys;
  }

  /** The verdict for `digest` in `repository`, from the cache or else from `verify`. */
  verdict(repository: string, digest: string, verify: () => Promise<CosignVerdict>): Promise<CosignVerdict> {
    if (!this.listening) return verify();
    let byDigest = this.verdicts.get(repository);
    const cached = byDigest?.get(digest);
    if (cached) return cached;
    if (this.count >= MAX_VERDICTS) this.clear();
    if (!byDigest) {
      byDigest = new Map();
      this.verdicts.set(repository, byDigest);
    }
    const verifying = verify();
    const kept = byDigest;
    kept.set(digest, verifying);
    this.count++;
    verifying.catch(() => {
      if (this.verdicts.get(repository) === kept && kept.get(digest) === verifying) {
        kept.delete(digest);
        this.count--;
      }
    });
    return verifying;
  }

  /** A signature of an image in `repository` may have come or gone: called by this process's writes too. */
  repositoryChanged(repository: string): void {
    const byDigest = this.verdicts.get(repository);
    if (!byDigest) return;
    this.verdicts.delete(repository);
    this.count -= byDigest.size;
  }

  private projectChanged(project: string): void {
    this.keys.delete(project);
    for (const repository of [...this.verdicts.keys()])
      if (repository.startsWith(`${project}/`)) this.repositoryChanged(repository);
  }

  // A stored key that no longer parses (a stricter reader) verifies nothing rather than failing pulls.
  private async loadKeys(project: string): Promise<KeyObject[]> {
    return (await this.trustedKeys(project)).flatMap((key) => {
      try {
        return [parsePublicKeyPem(key.publicKeyPem)];
      } catch {
        return [];
      }
    });
  }

  private clear(): void {
    this.verdicts.clear();
    this.keys.clear();
    this.count = 0;
  }
}
