// Route descriptions for the OpenAPI document. Each routes/*.ts exports a RouteSpec[] next to its sub-app,
// built from the same zod schemas that validate requests, so the document cannot drift from the code.
import type { z } from "zod";

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

export interface RouteSpec {
  method: "get" | "post" | "put" | "delete";
  /** OpenAPI path template, e.g. /v1/model/{name}. */
  path: string;
  summary: string;
  tags?: string[];
  body?: z.ZodType;
  query?: z.ZodType;
  responses: Record<number, ResponseSpec>;
}

/** One routes file's specs, each under the OpenAPI tag `tag`. */
export const tagged = (tag: string, specs: Omit<RouteSpec, "tags">[]): RouteSpec[] =>
  specs.map((s) => ({ ...s, tags: [tag] }));
