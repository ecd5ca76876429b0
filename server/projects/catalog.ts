import type { Page, PageRequest } from "./page.js";

/** The project a catalog listing is for. */
export interface CatalogProject {
  readonly id: number;
  readonly name: string;
}

export interface CatalogRepository {
  /** The whole path, project first: `library/app`. */
  readonly name: string;
  readonly id?: number;
  readonly artifactCount: number;
  readonly pullCount: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface CatalogTag {
  readonly name: string;
  readonly id?: number;
  readonly pushedAt: Date;
  readonly pulledAt?: Date;
}

/** An artifact attached to another one, e.g. a cosign signature (`type` "signature.cosign"). */
export interface CatalogAccessory {
  readonly digest: string;
  readonly type: string;
  readonly size: number;
  readonly createdAt: Date;
}

export interface CatalogArtifact {
  readonly id?: number;
  /** `sha256:<hex>` of the manifest. */
  readonly digest: string;
  /** Harbor's `type`: IMAGE, CHART, CNAB... */
  readonly type?: string;
  /** The config's media type, as Harbor's `media_type` is. */
  readonly mediaType: string;
  readonly manifestMediaType: string;
  readonly size: number;
  readonly pushedAt: Date;
  readonly pulledAt?: Date;
  readonly tags: readonly CatalogTag[];
  readonly accessories?: readonly CatalogAccessory[];
}

/**
 * What the registry stores, as the Harbor API lists it. The registry implements this; the API only pages
 * through it and adds the signed status.
 */
export interface RepositoryCatalog {
  /** The project's repositories, sorted by name. */
  listRepositories(project: CatalogProject, page: PageRequest): Promise<Page<CatalogRepository>>;
  /**
   * The artifacts of `repository` (the whole path, `library/app`), newest push first; undefined when the
   * project has no such repository.
   */
  listArtifacts(
    project: CatalogProject,
    repository: string,
    page: PageRequest,
  ): Promise<Page<CatalogArtifact> | undefined>;
  /** One repository (the whole path); undefined when the project has none of that name. */
  repository(project: CatalogProject, repository: string): Promise<CatalogRepository | undefined>;
  /** One artifact of the repository by digest or tag, accessories and index entries included. */
  artifact(
    project: CatalogProject,
    repository: string,
    reference: ArtifactReference,
  ): Promise<CatalogArtifact | undefined>;
  /** Deletes the repository with everything in it; false when there is none. */
  deleteRepository(project: CatalogProject, repository: string): Promise<boolean>;
  /** Deletes the artifact (all its tags) and its accessories. */
  deleteArtifact(
    project: CatalogProject,
    repository: string,
    reference: ArtifactReference,
  ): Promise<ArtifactDeletion>;
}

/** An artifact named in a URL: by digest (`sha256:<hex>`) or by one of its tags. */
export type ArtifactReference = { readonly digest: string } | { readonly tag: string };

/** What deleting an artifact did: Harbor deletes its accessories with it, and refuses one an index holds. */
export type ArtifactDeletion =
  | { readonly outcome: "deleted"; readonly digest: string; readonly accessories: readonly string[] }
  | { readonly outcome: "referenced"; readonly digest: string; readonly by: string }
  | { readonly outcome: "not-found" };

/** A catalog with nothing in it: what the API lists until a registry is plugged in. */
export const EMPTY_CATALOG: RepositoryCatalog = {
  listRepositories: async () => ({ total: 0, items: [] }),
  listArtifacts: async () => undefined,
  repository: async () => undefined,
  artifact: async () => undefined,
  deleteRepository: async () => false,
  deleteArtifact: async () => ({ outcome: "not-found" }),
};

/**
 * Whether the Notary trust data of `repository` (`library/app`) signs the manifest `digest`
 * (`sha256:<hex>`): what Harbor shows as a tag's `signed`.
 */
export type SignatureCheck = (repository: string, digest: string) => Promise<boolean>;

export const NOTHING_SIGNED: SignatureCheck = async () => false;
