/** Who acted on which manifest: the subject of the caller's token, or the Basic user's name. */
export interface ManifestEvent {
  /** A username, a robot's `robot$...` name; "" for an anonymous caller. */
  readonly actor: string;
  readonly repository: string;
  /** The manifest's digest, `sha256:<hex>`. */
  readonly digest: string;
  /** The tag the request named, if it named one rather than a digest. */
  readonly tag?: string;
}

/** A deletion names a manifest by digest (the manifest and its tags go) or a tag (the tag alone goes). */
export interface DeletionEvent {
  readonly actor: string;
  readonly repository: string;
  readonly reference: { readonly digest: string } | { readonly tag: string };
}

/**
 * What the registry tells whoever keeps its history (the audit log, pull counts) once a change has
 * committed or a manifest was served. Implementations deal with their own failures: the registry's
 * answer never depends on them.
 */
export interface RegistryEvents {
  /** After a manifest push committed. */
  pushed(event: ManifestEvent): Promise<void>;
  /** As a manifest is served by GET; returns at once, for pulls wait on nothing but the manifest. */
  pulled(event: ManifestEvent): void;
  /** After a manifest or a tag was deleted. */
  deleted(event: DeletionEvent): Promise<void>;
}
