import type { ApiResponse, ApiRoute } from "./route.js";
import { dereference, HARBOR_SCHEMAS } from "./schemas.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type ParameterLocation = "path" | "query" | "header";

const COMPONENT = "#/components/schemas/";

const RESPONSE_HEADERS: Record<string, { description: string; schema: Json }> = {
  Location: { description: "The location of the resource", schema: { type: "string" } },
  "X-Total-Count": { description: "The total count of the listed resources", schema: { type: "integer" } },
  Link: { description: "Link refers to the previous page and next page", schema: { type: "string" } },
};

/** A fastify schema as OpenAPI has it: `{"$ref": "Project#"}` points into components, `$id`s go. */
function toOpenApi(schema: unknown): Json {
  if (Array.isArray(schema)) return schema.map(toOpenApi);
  if (typeof schema !== "object" || schema === null) return schema as Json;
  const converted: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$id") continue;
    converted[key] =
      key === "$ref" && typeof value === "string" ? COMPONENT + value.replace(/#$/, "") : toOpenApi(value);
  }
  return converted;
}

// Header parameters are written as Harbor documents them (X-Is-Resource-Name); fastify wants lower case.
function headerName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_match, dash: string, letter: string) => dash + letter.toUpperCase());
}

/** The OpenAPI 3.1 document of `routes`, served under `basePath`, with every Harbor schema as a component. */
export function openApiDocument(routes: readonly ApiRoute[], basePath: string): Json {
  const paths: { [path: string]: { [method: string]: Json } } = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Trustdock Harbor API",
      description: "Harbor's v2.0 API for projects, members, robot accounts, users and audit logs.",
      version: "2.0",
    },
    servers: [{ url: basePath }],
    security: [{ basic: [] }, {}],
    paths,
    components: {
      securitySchemes: { basic: { type: "http", scheme: "basic" } },
      schemas: Object.fromEntries(HARBOR_SCHEMAS.map((schema) => [schema.$id, toOpenApi(schema)])),
    },
  };
}

function operation(route: ApiRoute): Json {
  const parameters = [
    ...parametersOf("path", route.params),
    ...parametersOf("query", route.querystring),
    ...parametersOf("header", route.headers),
  ];
  return {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: toOpenApi(route.body) } },
          },
        }
      : {}),
    responses: Object.fromEntries(
      Object.entries(route.responses).map(([status, response]) => [status, responseOf(response)]),
    ),
  };
}

function responseOf(response: ApiResponse): Json {
  return {
    description: response.description,
    ...(response.schema ? { content: { "application/json": { schema: toOpenApi(response.schema) } } } : {}),
    ...(response.headers
      ? {
          headers: Object.fromEntries(response.headers.map((name) => [name, RESPONSE_HEADERS[name] ?? {}])),
        }
      : {}),
  };
}

/** One parameter per property of an object schema (given inline or as a reference). */
function parametersOf(location: ParameterLocation, schema: object | undefined): Json[] {
  if (!schema) return [];
  const resolved = dereference(schema);
  const properties = (resolved.properties ?? {}) as Record<string, { description?: string }>;
  const required = new Set((resolved.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name: location === "header" ? headerName(name) : name,
    in: location,
    required: location === "path" || required.has(name),
    ...(property.description ? { description: property.description } : {}),
    schema: toOpenApi(property),
  }));
}
