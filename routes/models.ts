// AIBrix's model download API plus status and delete, a thin adapter over the download-job service
// (storage/jobs.ts, which says what each does): validation of bodies and query parameters, then one call.
//   POST   /v1/model/download   AIBrix body -> ModelStatusCard at once
//   GET    /v1/model/list       AIBrix shape (local_dir from the query or AIBrix's JSON body)
//   GET    /v1/model/status?model_name=[&local_dir=]
//   DELETE /v1/model/{name}[?local_dir=]
import { Hono } from "hono";
import { z } from "zod";
import { getRequestBody } from "../platform/serve.ts";
import { ExtraConfig } from "../storage/extra-config.ts";
import type { DownloadJobs } from "../storage/jobs.ts";
import { tagged } from "./spec.ts";
import { checkJsonBody, jsonBody, modelNameField, queryParams } from "./validate.ts";

export const ListModelRequest = z.strictObject({ local_dir: z.string() });
const StatusQuery = z.object({ model_name: z.string(), local_dir: z.string().optional() });
const DeleteQuery = z.object({ local_dir: z.string().optional() });

export const DownloadModelRequest = z.strictObject({
  model_uri: z.string(),
  local_dir: z.string().nullable().optional(),
  model_name: modelNameField.nullable().optional(),
  download_extra_config: ExtraConfig.nullable().optional(),
});

const Status = z.enum([
  "downloaded",
  "downloading",
  "failed",
  "interrupted",
  "no_operation",
  "not_exist",
  "unknown",
]);
export const ModelStatusCard = z.object({
  model_name: z.string(),
  model_root_path: z.string(),
  source: z.string(),
  model_status: Status,
});
const Progress = z.object({
  phase: z.string(),
  files_done: z.number(),
  files_total: z.number(),
  bytes_done: z.number(),
  bytes_total: z.number(),
  rate: z.number(),
  eta: z.number().nullable(),
});
const StatusBody = ModelStatusCard.extend({
  model_path: z.string().optional(),
  progress: Progress.nullable(),
  error: z.object({ reason: z.string(), message: z.string() }).nullable(),
});
const ErrorBody = z.object({
  object: z.literal("error"),
  message: z.string(),
  type: z.string(),
  param: z.null(),
  code: z.number(),
});

export const modelSpecs = tagged("models", [
  {
    method: "post",
    path: "/v1/model/download",
    summary: "Start downloading a model (returns at once; repeated calls return the current status)",
    body: DownloadModelRequest,
    responses: {
      200: { description: "ModelStatusCard", schema: ModelStatusCard },
      422: { description: "bad URI, model name, local_dir or missing credentials", schema: ErrorBody },
    },
  },
  {
    method: "get",
    path: "/v1/model/list",
    summary: "Models under the download directory, with their status (read from disk)",
    responses: {
      200: {
        description: "list",
        schema: z.object({ object: z.literal("list"), data: z.array(ModelStatusCard) }),
      },
    },
  },
  {
    method: "get",
    path: "/v1/model/status",
    summary: "One model's status with progress and the failure reason",
    query: StatusQuery,
    responses: {
      200: { description: "status", schema: StatusBody },
      404: { description: "no such model", schema: ErrorBody },
    },
  },
  {
    method: "delete",
    path: "/v1/model/{name}",
    summary: "Delete a downloaded model (refused while downloading or while the engine serves it)",
    query: DeleteQuery,
    responses: {
      200: {
        description: "deleted",
        schema: z.object({ model_name: z.string(), status: z.literal("deleted") }),
      },
      404: { description: "no such model", schema: ErrorBody },
      409: { description: "downloading or in use by the engine", schema: ErrorBody },
    },
  },
]);

export function modelRoutes(jobs: DownloadJobs): Hono {
  const app = new Hono();
  app.post("/v1/model/download", jsonBody(DownloadModelRequest), async (c) =>
    c.json(await jobs.start(c.req.valid("json"), c.req.raw.signal)),
  );
  app.get("/v1/model/list", async (c) => {
    let localDir = c.req.query("local_dir");
    // AIBrix reads an optional JSON body {"local_dir": ...} on this GET (ListModelRequest, extra forbidden).
    const raw = getRequestBody(c.req.raw);
    if (raw && raw.length > 0) {
      const r = checkJsonBody(new TextDecoder().decode(raw), c.req.header("content-type"), ListModelRequest);
      if (!r.ok) return c.json({ detail: r.detail }, 422);
      localDir = r.data.local_dir;
    }
    return c.json(await jobs.list(localDir));
  });
  app.get("/v1/model/status", queryParams(StatusQuery), async (c) => {
    const q = c.req.valid("query");
    return c.json(await jobs.status(q.model_name, q.local_dir));
  });
  // Hono has decoded the path once already; a second decode of "%" would throw (a 500 before).
  app.delete("/v1/model/:name{.+}", queryParams(DeleteQuery), async (c) =>
    c.json(await jobs.delete(c.req.param("name"), c.req.valid("query").local_dir)),
  );
  return app;
}
