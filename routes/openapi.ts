// GET /openapi.json: OpenAPI 3.1 generated from every route's zod schemas.
import { Hono } from "hono";
import { z } from "zod";
import { type RouteSpec, tagged } from "./spec.ts";

function schemaOf(s: z.ZodType, io: "input" | "output"): unknown {
  return z.toJSONSchema(s, { io, unrepresentable: "any", target: "draft-2020-12" });
}

export function buildOpenApi(specs: readonly RouteSpec[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of specs) {
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: r.tags,
      operationId: `${r.method}${r.path}`,
    };
    const params: unknown[] = [];
    for (const m of r.path.matchAll(/\{([^}]+)\}/g))
      params.push({ name: m[1], in: "path", required: true, schema: { type: "string" } });
    if (r.query) {
      const js = schemaOf(r.query, "input") as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(js.properties ?? {}))
        params.push({ name, in: "query", required: js.required?.includes(name) ?? false, schema });
    }
    if (params.length) op.parameters = params;
    if (r.body)
      op.requestBody = {
        required: true,
        content: { "application/json": { schema: schemaOf(r.body, "input") } },
      };
    op.responses = Object.fromEntries(
      Object.entries(r.responses).map(([status, res]) => [
        status,
        {
          description: res.description,
          ...(res.schema
            ? {
                content: {
                  [res.contentType ?? "application/json"]: { schema: schemaOf(res.schema, "output") },
                },
              }
            : {}),
        },
      ]),
    );
    paths[r.path] ??= {};
    paths[r.path]![r.method] = op;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "airuntime",
      version,
      description: "Management sidecar for LLM inference engines; AIBrix AI Engine Runtime compatible.",
    },
    paths,
  };
}

export function openapiRoutes(specs: () => readonly RouteSpec[], version: string): Hono {
  const app = new Hono();
  let cached: Record<string, unknown> | undefined;
  app.get("/openapi.json", (c) => {
    cached ??= buildOpenApi(specs(), version);
    return c.json(cached);
  });
  return app;
}

export const openapiSpecs = tagged("meta", [
  {
    method: "get",
    path: "/openapi.json",
    summary: "This OpenAPI 3.1 document",
    responses: { 200: { description: "OpenAPI document", schema: z.record(z.string(), z.unknown()) } },
  },
]);
