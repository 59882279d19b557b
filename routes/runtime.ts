// AIBrix's runtime lifecycle API, sleep and wake (reference/AIBRIX-RUNTIME.md §1.9):
//   POST /v1/runtime/models/sleep {model_name, level, operation_id}
//   POST /v1/runtime/models/wake  {model_name, operation_id}
// -> {status, model_name, operation_id, applied, phase}. The handlers only delegate to a SleepWake
// (the attached engine today; engines the sidecar launches plug in behind the same interface).
import { Hono } from "hono";
import { z } from "zod";
import type { SleepWake } from "../engines/attached-lifecycle.ts";
import type { RouteSpec } from "./spec.ts";
import { jsonBody } from "./validate.ts";

export const SleepRequest = z.strictObject({
  model_name: z.string(),
  level: z.number().int().min(1).max(2),
  operation_id: z.string().min(1),
});
export const WakeRequest = z.strictObject({ model_name: z.string(), operation_id: z.string().min(1) });

const OperationReply = z.object({
  status: z.literal("success"),
  model_name: z.string(),
  operation_id: z.string(),
  applied: z.boolean(),
  phase: z.string(),
});
const Detail = z.object({ detail: z.string() });

const responses = {
  200: {
    description: "done (applied=false: already in that state or operation_id seen)",
    schema: OperationReply,
  },
  404: { description: "model not served by the engine", schema: Detail },
  409: { description: "the engine has no sleep/wake", schema: Detail },
  422: { description: "unknown field or wrong type (FastAPI detail)" },
  503: { description: "engine unreachable: retry", schema: Detail },
};

export const runtimeSleepWakeSpecs: RouteSpec[] = [
  {
    method: "post",
    path: "/v1/runtime/models/sleep",
    summary:
      "Put the engine to sleep (vLLM /sleep, SGLang release_memory_occupation); idempotent by operation_id",
    tags: ["runtime"],
    body: SleepRequest,
    responses,
  },
  {
    method: "post",
    path: "/v1/runtime/models/wake",
    summary: "Wake the engine (vLLM /wake_up, SGLang resume_memory_occupation); idempotent by operation_id",
    tags: ["runtime"],
    body: WakeRequest,
    responses,
  },
];

export function runtimeSleepWakeRoutes(target: SleepWake): Hono {
  const app = new Hono();
  app.post("/v1/runtime/models/sleep", jsonBody(SleepRequest), async (c) => {
    const b = c.req.valid("json");
    const ctx = { signal: c.req.raw.signal, authorization: c.req.header("authorization") };
    return c.json(await target.sleep(b.model_name, b.level as 1 | 2, b.operation_id, ctx));
  });
  app.post("/v1/runtime/models/wake", jsonBody(WakeRequest), async (c) => {
    const b = c.req.valid("json");
    const ctx = { signal: c.req.raw.signal, authorization: c.req.header("authorization") };
    return c.json(await target.wake(b.model_name, b.operation_id, ctx));
  });
  return app;
}
