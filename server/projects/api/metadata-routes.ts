import { HarborError } from "../errors.js";
import type { Project } from "../project-store.js";
import type { ApiDeps } from "./deps.js";
import {
  type NameHeader,
  type ProjectPath,
  recordProjectUpdate,
  requireCallProject,
} from "./project-access.js";
import { ERRORS, OK } from "./responses.js";
import type { ApiCall, ApiRoute } from "./route.js";
import { ref } from "./schemas.js";

interface MetadataPath extends ProjectPath {
  meta_name: string;
}

type Metadata = Record<string, string>;

const NOT_EMPTY = { allOf: [ref("ProjectMetadata"), { type: "object", minProperties: 1 }] };
const METADATA = { description: "The metadata, by name.", schema: ref("ProjectMetadata") };

/** Harbor's metadata API: a project's settings one by one, read by its readers, set by its admins. */
export function metadataRoutes(deps: ApiDeps): ApiRoute[] {
  const project = (
    call: ApiCall<ProjectPath, unknown, unknown, NameHeader>,
    permission: "read" | "administer",
  ) => requireCallProject(deps, call, permission);
  const changed = (call: ApiCall<unknown, unknown, unknown, unknown>, target: Project) =>
    recordProjectUpdate(deps.audit, call.principal, target);
  const entry = (target: Project, name: string): Metadata => {
    const value = target.metadata[name];
    if (value === undefined)
      throw new HarborError("NOT_FOUND", `project ${target.name} has no metadata ${name}`);
    return { [name]: value };
  };
  const common = { tag: "projectMetadata", headers: ref("ProjectNameHeaders") } as const;

  const list: ApiRoute<ProjectPath, unknown, unknown, NameHeader> = {
    ...common,
    method: "GET",
    url: "/projects/:project_name_or_id/metadatas/",
    operationId: "listProjectMetadatas",
    summary: "Get the metadata of the specific project",
    params: ref("ProjectPath"),
    responses: { 200: METADATA, 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404] },
    async handle(call) {
      return (await project(call, "read")).metadata;
    },
  };

  const add: ApiRoute<ProjectPath, unknown, Metadata, NameHeader> = {
    ...common,
    method: "POST",
    url: "/projects/:project_name_or_id/metadatas/",
    operationId: "addProjectMetadatas",
    summary: "Add metadata the project does not have yet",
    params: ref("ProjectPath"),
    body: NOT_EMPTY,
    responses: {
      200: OK,
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
      409: ERRORS[409],
    },
    async handle(call) {
      const target = await project(call, "administer");
      const existing = Object.keys(call.body).filter((name) => target.metadata[name] !== undefined);
      if (existing.length > 0) {
        throw new HarborError("CONFLICT", `the project already has metadata ${existing.join(", ")}`);
      }
      await deps.projects.setMetadata(target.id, call.body);
      await changed(call, target);
      return undefined;
    },
  };

  const get: ApiRoute<MetadataPath, unknown, unknown, NameHeader> = {
    ...common,
    method: "GET",
    url: "/projects/:project_name_or_id/metadatas/:meta_name",
    operationId: "getProjectMetadata",
    summary: "Get the specific metadata of the specific project",
    params: ref("MetadataPath"),
    responses: { 200: METADATA, 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404] },
    async handle(call) {
      return entry(await project(call, "read"), call.params.meta_name);
    },
  };

  const update: ApiRoute<MetadataPath, unknown, Metadata, NameHeader> = {
    ...common,
    method: "PUT",
    url: "/projects/:project_name_or_id/metadatas/:meta_name",
    operationId: "updateProjectMetadata",
    summary: "Update the specific metadata for the specific project; the body holds that one entry",
    params: ref("MetadataPath"),
    body: NOT_EMPTY,
    responses: { 200: OK, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404] },
    async handle(call) {
      const target = await project(call, "administer");
      const { meta_name: name } = call.params;
      const value = call.body[name];
      if (value === undefined || Object.keys(call.body).length !== 1) {
        throw new HarborError("BAD_REQUEST", `the body must hold the metadata ${name}, and only it`);
      }
      entry(target, name);
      await deps.projects.setMetadata(target.id, { [name]: value });
      await changed(call, target);
      return undefined;
    },
  };

  const remove: ApiRoute<MetadataPath, unknown, unknown, NameHeader> = {
    ...common,
    method: "DELETE",
    url: "/projects/:project_name_or_id/metadatas/:meta_name",
    operationId: "deleteProjectMetadata",
    summary: "Delete the specific metadata for the specific project",
    params: ref("MetadataPath"),
    responses: { 200: OK, 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404] },
    async handle(call) {
      const target = await project(call, "administer");
      entry(target, call.params.meta_name);
      await deps.projects.deleteMetadata(target.id, call.params.meta_name);
      await changed(call, target);
      return undefined;
    },
  };

  return [list, add, get, update, remove];
}
