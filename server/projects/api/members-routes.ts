import { HarborError } from "../errors.js";
import type { Member } from "../member-store.js";
import type { Project } from "../project-store.js";
import { ROLE_NAMES, type RoleId } from "../roles.js";
import type { UserProfile } from "../user-directory.js";
import { actorName } from "./caller.js";
import type { ApiDeps } from "./deps.js";
import { type PagingQuery, pagingOf, sendPageHeaders } from "./paging.js";
import { type NameHeader, type ProjectPath, requireCallProject } from "./project-access.js";
import { ERRORS, OK } from "./responses.js";
import type { ApiCall, ApiRoute } from "./route.js";
import { ref } from "./schemas.js";

interface MemberPath extends ProjectPath {
  mid: number;
}

interface ProjectMember {
  role_id: RoleId;
  member_user?: { user_id?: number; username?: string };
  member_group?: object;
}

/** Harbor's ProjectMemberEntity. */
function memberView(member: Member) {
  return {
    id: member.id,
    project_id: member.projectId,
    entity_name: member.username,
    role_name: ROLE_NAMES[member.roleId],
    role_id: member.roleId,
    entity_id: member.userId,
    entity_type: "u",
  };
}

/** Harbor's member API: who belongs to a project in which role. Members list them; project admins change them. */
export function memberRoutes(deps: ApiDeps): ApiRoute[] {
  const common = { tag: "member", headers: ref("ProjectNameHeaders") } as const;
  const memberOf = async (project: Project, memberId: number) => {
    const member = await deps.members.get(project.id, memberId);
    if (!member) throw new HarborError("NOT_FOUND", `project ${project.name} has no member ${memberId}`);
    return member;
  };
  const record = (
    call: ApiCall<unknown, unknown, unknown, unknown>,
    operation: "create" | "update" | "delete",
    project: Project,
    member: Member,
  ) =>
    deps.audit.record({
      username: actorName(call.principal),
      operation,
      resourceType: "member",
      resource: member.username,
      project: project.name,
    });
  const userOf = async (request: NonNullable<ProjectMember["member_user"]>): Promise<UserProfile> => {
    const user =
      request.user_id !== undefined
        ? await deps.users.findById(request.user_id)
        : request.username !== undefined
          ? await deps.users.findByName(request.username)
          : undefined;
    if (!user) throw new HarborError("NOT_FOUND", `user ${request.username ?? request.user_id} not found`);
    return user;
  };

  const list: ApiRoute<ProjectPath, PagingQuery & { entityname?: string }, unknown, NameHeader> = {
    ...common,
    method: "GET",
    url: "/projects/:project_name_or_id/members",
    operationId: "listProjectMembers",
    summary: "Get all project member information",
    params: ref("ProjectPath"),
    querystring: ref("MemberListQuery"),
    responses: {
      200: {
        description: "Get project members successfully.",
        schema: { type: "array", items: ref("ProjectMemberEntity") },
        headers: ["X-Total-Count", "Link"],
      },
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
    },
    async handle(call) {
      const project = await requireCallProject(deps, call, "list-members");
      const paging = pagingOf(call.query);
      const filter = call.query.entityname === undefined ? {} : { username: call.query.entityname };
      const page = await deps.members.list(project.id, filter, paging.request);
      sendPageHeaders(call.request, call.reply, page.total, paging);
      return page.items.map(memberView);
    },
  };

  const create: ApiRoute<ProjectPath, unknown, ProjectMember, NameHeader> = {
    ...common,
    method: "POST",
    url: "/projects/:project_name_or_id/members",
    operationId: "createProjectMember",
    summary: "Make a user (member_user by user_id or username) a member in a role",
    params: ref("ProjectPath"),
    body: ref("ProjectMember"),
    responses: {
      201: { description: "Project member created successfully.", headers: ["Location"] },
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
      409: ERRORS[409],
    },
    async handle(call) {
      const project = await requireCallProject(deps, call, "administer");
      const { member_user: requested, member_group: group, role_id: roleId } = call.body;
      if (group !== undefined) throw new HarborError("BAD_REQUEST", "group members are not supported");
      if (requested?.user_id === undefined && requested?.username === undefined) {
        throw new HarborError("BAD_REQUEST", "member_user needs a user_id or a username");
      }
      const user = await userOf(requested);
      const member = await deps.members.add(project.id, user, roleId);
      await record(call, "create", project, member);
      const base = call.request.url.split("?")[0]?.replace(/\/$/, "");
      call.reply.code(201).header("Location", `${base}/${member.id}`);
      return undefined;
    },
  };

  const get: ApiRoute<MemberPath, unknown, unknown, NameHeader> = {
    ...common,
    method: "GET",
    url: "/projects/:project_name_or_id/members/:mid",
    operationId: "getProjectMember",
    summary: "Get the project member information",
    params: ref("MemberPath"),
    responses: {
      200: { description: "Project member retrieved successfully.", schema: ref("ProjectMemberEntity") },
      400: ERRORS[400],
      401: ERRORS[401],
      403: ERRORS[403],
      404: ERRORS[404],
    },
    async handle(call) {
      const project = await requireCallProject(deps, call, "list-members");
      return memberView(await memberOf(project, call.params.mid));
    },
  };

  const update: ApiRoute<MemberPath, unknown, { role_id: RoleId }, NameHeader> = {
    ...common,
    method: "PUT",
    url: "/projects/:project_name_or_id/members/:mid",
    operationId: "updateProjectMember",
    summary: "Change a member's role",
    params: ref("MemberPath"),
    body: ref("RoleRequest"),
    responses: { 200: OK, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404] },
    async handle(call) {
      const project = await requireCallProject(deps, call, "administer");
      const member = await memberOf(project, call.params.mid);
      await deps.members.setRole(project.id, member.id, call.body.role_id);
      await record(call, "update", project, member);
      return undefined;
    },
  };

  const remove: ApiRoute<MemberPath, unknown, unknown, NameHeader> = {
    ...common,
    method: "DELETE",
    url: "/projects/:project_name_or_id/members/:mid",
    operationId: "deleteProjectMember",
    summary: "Remove the specified project member from the project.",
    params: ref("MemberPath"),
    responses: { 200: OK, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404] },
    async handle(call) {
      const project = await requireCallProject(deps, call, "administer");
      const member = await memberOf(project, call.params.mid);
      await deps.members.remove(project.id, member.id);
      await record(call, "delete", project, member);
      return undefined;
    },
  };

  return [list, create, get, update, remove];
}
