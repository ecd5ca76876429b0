import {
  type CosignKeyStore,
  DuplicateCosignKeyError,
  InvalidCosignKeyError,
  type TrustedCosignKey,
} from "../../content-trust/cosign-key-store.js";
import { HarborError } from "../errors.js";
import type { Project } from "../project-store.js";
import { actorName } from "./caller.js";
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

interface KeyPath extends ProjectPath {
  key_id: number;
}

interface KeyRequest {
  name: string;
  public_key: string;
}

function keyView(key: TrustedCosignKey) {
  return {
    id: key.id,
    name: key.name,
    public_key: key.publicKeyPem,
    algorithm: key.algorithm,
    fingerprint: key.fingerprint,
    creator: key.creator,
    creation_time: key.createdAt.toISOString(),
  };
}

/**
 * The cosign public keys a project trusts (Harbor has no such API; it is shaped as its others are).
 * Whoever may read the project (and so pull its images) may read its keys, which are public and which
 * `cosign verify` needs; only its admins change them.
 */
export function cosignKeyRoutes(deps: ApiDeps, keys: CosignKeyStore): ApiRoute[] {
  const project = (
    call: ApiCall<ProjectPath, unknown, unknown, NameHeader>,
    permission: "read" | "administer",
  ) => requireCallProject(deps, call, permission);
  const changed = (call: ApiCall<unknown, unknown, unknown, unknown>, target: Project) =>
    recordProjectUpdate(deps.audit, call.principal, target);
  const common = { tag: "projectCosignKeys", headers: ref("ProjectNameHeaders") } as const;

  const list: ApiRoute<ProjectPath, unknown, unknown, NameHeader> = {
    ...common,
    method: "GET",
    url: "/projects/:project_name_or_id/cosign-keys",
    operationId: "listProjectCosignKeys",
    summary: "List the cosign public keys whose signatures the project trusts",
    params: ref("ProjectPath"),
    responses: {
      200: { description: "The keys, oldest first.", schema: { type: "array", items: ref("CosignKey") } },
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
    },
    async handle(call) {
      return (await keys.list((await project(call, "read")).id)).map(keyView);
    },
  };

  const add: ApiRoute<ProjectPath, unknown, KeyRequest, NameHeader> = {
    ...common,
    method: "POST",
    url: "/projects/:project_name_or_id/cosign-keys",
    operationId: "addProjectCosignKey",
    summary: "Trust a cosign public key (PKIX PEM: ECDSA P-256/P-384, Ed25519 or RSA) for the project",
    params: ref("ProjectPath"),
    body: ref("CosignKeyReq"),
    responses: {
      201: { description: "Created", schema: ref("CosignKey"), headers: ["Location"] },
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
      409: ERRORS[409],
    },
    async handle(call) {
      const target = await project(call, "administer");
      let key: TrustedCosignKey;
      try {
        key = await keys.add(target.id, {
          name: call.body.name,
          publicKeyPem: call.body.public_key,
          creator: actorName(call.principal),
        });
      } catch (err) {
        if (err instanceof InvalidCosignKeyError)
          throw new HarborError("BAD_REQUEST", `not a cosign public key: ${err.message}`);
        if (err instanceof DuplicateCosignKeyError) throw new HarborError("CONFLICT", err.message);
        throw err;
      }
      await changed(call, target);
      call.reply
        .code(201)
        .header("Location", `${call.request.url.split("?")[0]?.replace(/\/$/, "")}/${key.id}`);
      return keyView(key);
    },
  };

  const remove: ApiRoute<KeyPath, unknown, unknown, NameHeader> = {
    ...common,
    method: "DELETE",
    url: "/projects/:project_name_or_id/cosign-keys/:key_id",
    operationId: "deleteProjectCosignKey",
    summary: "Stop trusting a cosign public key; pulls that only it allowed are refused from then on",
    params: ref("CosignKeyPath"),
    responses: { 200: OK, 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404] },
    async handle(call) {
      const target = await project(call, "administer");
      if (!(await keys.remove(target.id, call.params.key_id)))
        throw new HarborError("NOT_FOUND", `project ${target.name} has no cosign key ${call.params.key_id}`);
      await changed(call, target);
      return undefined;
    },
  };

  return [list, add, remove];
}
