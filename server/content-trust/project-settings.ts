import { PROJECT_CHANGES_CHANNEL } from "../projects/project-store.js";
import type { Db } from "../storage/db.js";

export interface ContentTrustSettings {
  /** `enable_content_trust`: pulls need Notary trust data that signs the digest. */
  readonly notary: boolean;
  /** `enable_content_trust_cosign`: pulls need a cosign signature for the digest. */
  readonly cosign: boolean;
}

export type ProjectMetadataSource = (
  project: string,
) => Promise<Readonly<Record<string, string>> | undefined>;

/**
 * A project's content-trust switches, read on every manifest pull: cached per project and dropped when
 * any process changes the project (NOTIFY), or all of them after a gap in notifications.
 */
export class ProjectSettingsCache {
  private readonly cache = new Map<string, Promise<ContentTrustSettings>>();
  private stopListening: (() => Promise<void>) | undefined;

  constructor(
    private readonly db: Db,
    private readonly metadataOf: ProjectMetadataSource,
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.db.listen(
      PROJECT_CHANGES_CHANNEL,
      (project) => this.cache.delete(project),
      () => this.cache.clear(),
    );
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
  }

  settings(project: string): Promise<ContentTrustSettings> {
    let settings = this.cache.get(project);
    if (!settings) {
      settings = this.metadataOf(project).then((m) => ({
        notary: m?.enable_content_trust === "true",
        cosign: m?.enable_content_trust_cosign === "true",
      }));
      this.cache.set(project, settings);
      settings.catch(() => this.cache.delete(project));
    }
    return settings;
  }
}
