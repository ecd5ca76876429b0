import AccessSchema from "../../../schemas/harbor/Access.json" with { type: "json" };
import AccessorySchema from "../../../schemas/harbor/Accessory.json" with { type: "json" };
import ArtifactSchema from "../../../schemas/harbor/Artifact.json" with { type: "json" };
import ArtifactPathSchema from "../../../schemas/harbor/ArtifactPath.json" with { type: "json" };
import AuditLogSchema from "../../../schemas/harbor/AuditLog.json" with { type: "json" };
import CosignKeySchema from "../../../schemas/harbor/CosignKey.json" with { type: "json" };
import CosignKeyPathSchema from "../../../schemas/harbor/CosignKeyPath.json" with { type: "json" };
import CosignKeyReqSchema from "../../../schemas/harbor/CosignKeyReq.json" with { type: "json" };
import ErrorSchema from "../../../schemas/harbor/Error.json" with { type: "json" };
import ErrorsSchema from "../../../schemas/harbor/Errors.json" with { type: "json" };
import MemberListQuerySchema from "../../../schemas/harbor/MemberListQuery.json" with { type: "json" };
import MemberPathSchema from "../../../schemas/harbor/MemberPath.json" with { type: "json" };
import MetadataPathSchema from "../../../schemas/harbor/MetadataPath.json" with { type: "json" };
import PageNumberSchema from "../../../schemas/harbor/PageNumber.json" with { type: "json" };
import PageSizeSchema from "../../../schemas/harbor/PageSize.json" with { type: "json" };
import PagingQuerySchema from "../../../schemas/harbor/PagingQuery.json" with { type: "json" };
import ProjectSchema from "../../../schemas/harbor/Project.json" with { type: "json" };
import ProjectCreateHeadersSchema from "../../../schemas/harbor/ProjectCreateHeaders.json" with {
  type: "json",
};
import ProjectHeadQuerySchema from "../../../schemas/harbor/ProjectHeadQuery.json" with { type: "json" };
import ProjectListQuerySchema from "../../../schemas/harbor/ProjectListQuery.json" with { type: "json" };
import ProjectMemberSchema from "../../../schemas/harbor/ProjectMember.json" with { type: "json" };
import ProjectMemberEntitySchema from "../../../schemas/harbor/ProjectMemberEntity.json" with {
  type: "json",
};
import ProjectMetadataSchema from "../../../schemas/harbor/ProjectMetadata.json" with { type: "json" };
import ProjectNameSchema from "../../../schemas/harbor/ProjectName.json" with { type: "json" };
import ProjectNameHeadersSchema from "../../../schemas/harbor/ProjectNameHeaders.json" with { type: "json" };
import ProjectNamePathSchema from "../../../schemas/harbor/ProjectNamePath.json" with { type: "json" };
import ProjectPathSchema from "../../../schemas/harbor/ProjectPath.json" with { type: "json" };
import ProjectReqSchema from "../../../schemas/harbor/ProjectReq.json" with { type: "json" };
import RepositorySchema from "../../../schemas/harbor/Repository.json" with { type: "json" };
import RepositoryPathSchema from "../../../schemas/harbor/RepositoryPath.json" with { type: "json" };
import RobotSchema from "../../../schemas/harbor/Robot.json" with { type: "json" };
import RobotCreateSchema from "../../../schemas/harbor/RobotCreate.json" with { type: "json" };
import RobotCreatedSchema from "../../../schemas/harbor/RobotCreated.json" with { type: "json" };
import RobotDurationSchema from "../../../schemas/harbor/RobotDuration.json" with { type: "json" };
import RobotListQuerySchema from "../../../schemas/harbor/RobotListQuery.json" with { type: "json" };
import RobotNameSchema from "../../../schemas/harbor/RobotName.json" with { type: "json" };
import RobotPathSchema from "../../../schemas/harbor/RobotPath.json" with { type: "json" };
import RobotPermissionSchema from "../../../schemas/harbor/RobotPermission.json" with { type: "json" };
import RobotSecSchema from "../../../schemas/harbor/RobotSec.json" with { type: "json" };
import RoleIdSchema from "../../../schemas/harbor/RoleId.json" with { type: "json" };
import RoleRequestSchema from "../../../schemas/harbor/RoleRequest.json" with { type: "json" };
import TagSchema from "../../../schemas/harbor/Tag.json" with { type: "json" };
import UserCreationReqSchema from "../../../schemas/harbor/UserCreationReq.json" with { type: "json" };
import UserEntitySchema from "../../../schemas/harbor/UserEntity.json" with { type: "json" };
import UserRespSchema from "../../../schemas/harbor/UserResp.json" with { type: "json" };

/**
 * The JSON Schemas of the Harbor API (`schemas/harbor/`), each under its Harbor model name as `$id`:
 * fastify validates and serializes with them, and the OpenAPI document is generated from them.
 */
export const HARBOR_SCHEMAS: readonly HarborSchema[] = [
  AccessSchema,
  AccessorySchema,
  ArtifactSchema,
  ArtifactPathSchema,
  AuditLogSchema,
  CosignKeySchema,
  CosignKeyPathSchema,
  CosignKeyReqSchema,
  ErrorSchema,
  ErrorsSchema,
  MemberListQuerySchema,
  MemberPathSchema,
  MetadataPathSchema,
  PageNumberSchema,
  PageSizeSchema,
  PagingQuerySchema,
  ProjectSchema,
  ProjectCreateHeadersSchema,
  ProjectHeadQuerySchema,
  ProjectListQuerySchema,
  ProjectMemberSchema,
  ProjectMemberEntitySchema,
  ProjectMetadataSchema,
  ProjectNameSchema,
  ProjectNameHeadersSchema,
  ProjectNamePathSchema,
  ProjectPathSchema,
  ProjectReqSchema,
  RepositorySchema,
  RepositoryPathSchema,
  RobotSchema,
  RobotCreateSchema,
  RobotCreatedSchema,
  RobotDurationSchema,
  RobotListQuerySchema,
  RobotNameSchema,
  RobotPathSchema,
  RobotPermissionSchema,
  RobotSecSchema,
  RoleIdSchema,
  RoleRequestSchema,
  TagSchema,
  UserCreationReqSchema,
  UserEntitySchema,
  UserRespSchema,
];

export interface HarborSchema {
  readonly $id: string;
  readonly [keyword: string]: unknown;
}

const BY_ID = new Map(HARBOR_SCHEMAS.map((schema) => [schema.$id, schema]));

/** A reference to one of HARBOR_SCHEMAS, in the form fastify resolves. */
export function ref(id: string): { $ref: string } {
  if (!BY_ID.has(id)) throw new Error(`no Harbor schema ${id}`);
  return { $ref: `${id}#` };
}

/** `schema` itself, or the Harbor schema it refers to, without its `$id`. */
export function dereference(schema: object): Record<string, unknown> {
  const reference = (schema as { $ref?: unknown }).$ref;
  if (typeof reference !== "string") return schema as Record<string, unknown>;
  const target = BY_ID.get(reference.replace(/#$/, ""));
  if (!target) throw new Error(`no Harbor schema ${reference}`);
  const { $id: _id, ...inline } = target;
  return inline;
}
