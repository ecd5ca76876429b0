import { PgliteDb } from "../../storage/pglite-driver.js";
import { type ApiClient, startApi } from "../testing/api-client.js";

interface Operation {
  operationId: string;
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { content: { "application/json": { schema: unknown } } };
  responses: Record<string, { headers?: Record<string, unknown>; content?: unknown }>;
}
interface Document {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>> };
}

function references(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(references);
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, v]) => (key === "$ref" ? [v as string] : references(v)));
}

describe("the OpenAPI document", () => {
  let db: PgliteDb;
  let api: ApiClient;
  let document: Document;

  // Writing the document reads no table, so the database needs no schema.
  beforeAll(async () => {
    db = await PgliteDb.open();
    api = await startApi(db);
    const response = await api.call("GET", "/openapi.json");
    expect(response.statusCode).toBe(200);
    document = response.json() as Document;
  });
  afterAll(async () => {
    await api.close();
    await db.close();
  });

  it("is OpenAPI 3.1 served under the API's prefix", () => {
    expect(document.openapi).toBe("3.1.0");
    expect(document.servers).toEqual([{ url: "/api/v2.0" }]);
  });

  it("has an operation for each route, with path, query and header parameters in Harbor's spelling", () => {
    expect(Object.keys(document.paths["/projects"] ?? {})).toEqual(["head", "get", "post"]);
    expect(Object.keys(document.paths["/projects/{project_name_or_id}/members/{mid}"] ?? {})).toEqual([
      "get",
      "put",
      "delete",
    ]);
    const operations = Object.values(document.paths).flatMap((path) => Object.values(path));
    expect(operations.map((o) => o.operationId)).toEqual(
      expect.arrayContaining(["CreateRobot", "RefreshSec", "listAuditLogs", "createUser", "listArtifacts"]),
    );
    const get = document.paths["/projects/{project_name_or_id}"]?.get;
    expect(get?.operationId).toBe("getProject");
    expect(get?.parameters).toEqual([
      expect.objectContaining({ name: "project_name_or_id", in: "path", required: true }),
      expect.objectContaining({ name: "X-Is-Resource-Name", in: "header", required: false }),
    ]);
    const list = document.paths["/projects"]?.get;
    expect(list?.parameters?.map((p) => p.name)).toEqual([
      "page",
      "page_size",
      "name",
      "public",
      "owner",
      "with_detail",
    ]);
    expect(Object.keys(list?.responses["200"]?.headers ?? {})).toEqual(["X-Total-Count", "Link"]);
  });

  it("takes bodies and responses from the schemas the routes validate with", () => {
    const create = document.paths["/projects"]?.post;
    expect(create?.requestBody?.content["application/json"].schema).toEqual({
      allOf: [{ $ref: "#/components/schemas/ProjectReq" }, { type: "object", required: ["project_name"] }],
    });
    expect(document.components.schemas.ProjectReq).toBeDefined();
    expect(document.components.schemas.Project?.$id).toBeUndefined();
  });

  it("refers only to schemas it holds", () => {
    const dangling = references(document).filter(
      (ref) => !(ref.startsWith("#/components/schemas/") && ref.slice(21) in document.components.schemas),
    );
    expect(dangling).toEqual([]);
  });
});
