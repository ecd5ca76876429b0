import { type Principal, parseRepositoryName } from "../../auth/access.js";
import type { ArtifactReference, CatalogArtifact, CatalogRepository } from "../catalog.js";
import { HarborError } from "../errors.js";
import type { Project } from "../project-store.js";
import { actorName, refusal } from "./caller.js";
import type { ApiDeps } from "./deps.js";
import { type PagingQuery, pagingOf, sendPageHeaders } from "./paging.js";
import { requireProject } from "./project-access.js";
import { ERRORS, OK } from "./responses.js";
import type { ApiRoute } from "./route.js";
import { ref } from "./schemas.js";

interface ProjectNamePath {
  project_name: string;
}

interface RepositoryPath extends ProjectNamePath {
  repository_name: string;
}

interface ArtifactPath extends RepositoryPath {
  reference: string;
}

const LISTING = { headers: ["X-Total-Count", "Link"] } as const;

function repositoryView(project: Project, repository: CatalogRepository) {
  return {
    ...(repository.id === undefined ? {} : { id: repository.id }),
    project_id: project.id,
    name: repository.name,
    artifact_count: repository.artifactCount,
    pull_count: repository.pullCount,
    creation_time: repository.createdAt.toISOString(),
    update_time: repository.updatedAt.toISOString(),
  };
}

/** Harbor's Artifact; `signed` on each tag says whether Notary trust data signs the artifact's digest. */
function artifactView(project: Project, repository: string, artifact: CatalogArtifact, signed: boolean) {
  return {
    ...(artifact.id === undefined ? {} : { id: artifact.id }),
    type: artifact.type ?? "IMAGE",
    media_type: artifact.mediaType,
    manifest_media_type: artifact.manifestMediaType,
    project_id: project.id,
    repository_name: repository,
    digest: artifact.digest,
    size: artifact.size,
    push_time: artifact.pushedAt.toISOString(),
    ...(artifact.pulledAt ? { pull_time: artifact.pulledAt.toISOString() } : {}),
    tags: artifact.tags.map((tag) => ({
      ...(tag.id === undefined ? {} : { id: tag.id }),
      ...(artifact.id === undefined ? {} : { artifact_id: artifact.id }),
      name: tag.name,
      push_time: tag.pushedAt.toISOString(),
      ...(tag.pulledAt ? { pull_time: tag.pulledAt.toISOString() } : {}),
      immutable: false,
      signed,
    })),
    accessories: (artifact.accessories ?? []).map((accessory) => ({
      digest: accessory.digest,
      type: accessory.type,
      size: accessory.size,
      subject_artifact_digest: artifact.digest,
      subject_artifact_repo: repository,
      creation_time: accessory.createdAt.toISOString(),
    })),
  };
}

/**
 * The repository path a Harbor URL names: Harbor encodes a `/` in a repository name twice (`a%252Fb`),
 * which arrives here once decoded (`a%2Fb`); a name encoded once arrives whole. Undefined if malformed.
 */
function repositoryPath(projectName: string, repositoryName: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(repositoryName);
  } catch {
    return undefined;
  }
  const path = `${projectName}/${decoded}`;
  return parseRepositoryName(path)?.path === path ? path : undefined;
}

// The OCI grammar of a digest and of a tag.
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

function artifactReference(reference: string): ArtifactReference {
  if (DIGEST.test(reference)) return { digest: reference };
  if (TAG.test(reference)) return { tag: reference };
  throw new HarborError("BAD_REQUEST", "the reference is neither a digest nor a tag");
}

/**
 * What the registry holds in a project, through the RepositoryCatalog: listed for whoever may pull from
 * it, deleted by whoever may delete there (maintainers and project admins), each deletion audited.
 */
export function repositoryRoutes(deps: ApiDeps): ApiRoute[] {
  const readable = async ({ principal, params }: { principal: Principal; params: ProjectNamePath }) =>
    requireProject(deps.policy, principal, await deps.projects.findByName(params.project_name), "read");

  /** The project and the repository path of a call, if the caller may pull from the project. */
  const readableRepository = async (call: { principal: Principal; params: RepositoryPath }) => {
    const project = await readable(call);
    const repository = repositoryPath(project.name, call.params.repository_name);
    if (!repository) throw new HarborError("BAD_REQUEST", "the repository name is malformed");
    return { project, repository };
  };

  const listRepositories: ApiRoute<ProjectNamePath, PagingQuery> = {
    method: "GET",
    url: "/projects/:project_name/repositories",
    operationId: "listRepositories",
    summary: "List repositories of the specified project",
    tag: "repository",
    params: ref("ProjectNamePath"),
    querystring: ref("PagingQuery"),
    responses: {
      200: { description: "Success", schema: { type: "array", items: ref("Repository") }, ...LISTING },
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
    },
    async handle(call) {
      const project = await readable(call);
      const paging = pagingOf(call.query);
      const page = await deps.catalog.listRepositories(project, paging.request);
      sendPageHeaders(call.request, call.reply, page.total, paging);
      return page.items.map((repository) => repositoryView(project, repository));
    },
  };

  const listArtifacts: ApiRoute<RepositoryPath, PagingQuery> = {
    method: "GET",
    url: "/projects/:project_name/repositories/:repository_name/artifacts",
    operationId: "listArtifacts",
    summary: "List artifacts under the specific project and repository, with tags and their signed status",
    tag: "artifact",
    params: ref("RepositoryPath"),
    querystring: ref("PagingQuery"),
    responses: {
      200: { description: "Success", schema: { type: "array", items: ref("Artifact") }, ...LISTING },
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
    },
    async handle(call) {
      const { project, repository } = await readableRepository(call);
      const paging = pagingOf(call.query);
      const page = await deps.catalog.listArtifacts(project, repository, paging.request);
      if (!page) throw new HarborError("NOT_FOUND", `repository ${repository} not found`);
      sendPageHeaders(call.request, call.reply, page.total, paging);
      return Promise.all(
        page.items.map(async (artifact) =>
          artifactView(project, repository, artifact, await deps.isSigned(repository, artifact.digest)),
        ),
      );
    },
  };

  const getRepository: ApiRoute<RepositoryPath> = {
    method: "GET",
    url: "/projects/:project_name/repositories/:repository_name",
    operationId: "getRepository",
    summary: "Get the repository specified by name",
    tag: "repository",
    params: ref("RepositoryPath"),
    responses: {
      200: { description: "Success", schema: ref("Repository") },
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
    },
    async handle(call) {
      const { project, repository } = await readableRepository(call);
      const found = await deps.catalog.repository(project, repository);
      if (!found) throw new HarborError("NOT_FOUND", `repository ${repository} not found`);
      return repositoryView(project, found);
    },
  };

  const getArtifact: ApiRoute<ArtifactPath> = {
    method: "GET",
    url: "/projects/:project_name/repositories/:repository_name/artifacts/:reference",
    operationId: "getArtifact",
    summary: "Get the artifact specified by the reference (digest or tag), with its tags and accessories",
    tag: "artifact",
    params: ref("ArtifactPath"),
    responses: {
      200: { description: "Success", schema: ref("Artifact") },
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
    },
    async handle(call) {
      const { project, repository } = await readableRepository(call);
      const reference = artifactReference(call.params.reference);
      const artifact = await deps.catalog.artifact(project, repository, reference);
      if (!artifact)
        throw new HarborError("NOT_FOUND", `artifact ${repository}:${call.params.reference} not found`);
      return artifactView(project, repository, artifact, await deps.isSigned(repository, artifact.digest));
    },
  };

  /** The repository path of the call, if the caller may delete in it. */
  const deletable = async (call: { principal: Principal; params: RepositoryPath }) => {
    const { project, repository } = await readableRepository(call);
    const resource = { type: "repository", name: repository } as const;
    const granted = await deps.policy.grantedActions(call.principal, resource, ["delete"]);
    if (!granted.includes("delete")) throw refusal(call.principal);
    return { project, repository };
  };

  const deleteRepository: ApiRoute<RepositoryPath> = {
    method: "DELETE",
    url: "/projects/:project_name/repositories/:repository_name",
    operationId: "deleteRepository",
    summary: "Delete the repository specified by name, with all its artifacts",
    tag: "repository",
    params: ref("RepositoryPath"),
    responses: { 200: OK, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404] },
    async handle(call) {
      const { project, repository } = await deletable(call);
      if (!(await deps.catalog.deleteRepository(project, repository)))
        throw new HarborError("NOT_FOUND", `repository ${repository} not found`);
      await deps.audit.record({
        username: actorName(call.principal),
        operation: "delete",
        resourceType: "repository",
        resource: repository,
      });
      return undefined;
    },
  };

  const deleteArtifact: ApiRoute<ArtifactPath> = {
    method: "DELETE",
    url: "/projects/:project_name/repositories/:repository_name/artifacts/:reference",
    operationId: "deleteArtifact",
    summary: "Delete the artifact specified by the reference (digest or tag), with its tags and accessories",
    tag: "artifact",
    params: ref("ArtifactPath"),
    responses: {
      200: OK,
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
      412: ERRORS[412],
    },
    async handle(call) {
      const { project, repository } = await deletable(call);
      const reference = artifactReference(call.params.reference);
      const deletion = await deps.catalog.deleteArtifact(project, repository, reference);
      if (deletion.outcome === "not-found")
        throw new HarborError("NOT_FOUND", `artifact ${repository}:${call.params.reference} not found`);
      if (deletion.outcome === "referenced")
        throw new HarborError("PRECONDITION", `the artifact is referenced by the index ${deletion.by}`);
      const username = actorName(call.principal);
      await deps.audit.recordAll(
        [deletion.digest, ...deletion.accessories].map((digest) => ({
          username,
          operation: "delete",
          resourceType: "artifact",
          resource: `${repository}:${digest}`,
        })),
      );
      return undefined;
    },
  };

  return [listRepositories, getRepository, listArtifacts, getArtifact, deleteRepository, deleteArtifact];
}
