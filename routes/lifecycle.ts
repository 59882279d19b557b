// ModelClaim lifecycle API (reference/AIBRIX-RUNTIME.md §1.9) with AIBrix's exact JSON: activate,
// deactivate, kv-limit, sleep/wake (engines this sidecar launched, and the engine it is attached to), the
// model list and the snapshot.
// Request bodies forbid unknown fields (422, FastAPI shape), as AIBrix's models do.
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { Lifecycle } from "../lifecycle/index.ts";
import { PHASES } from "../lifecycle/types.ts";
import type { Logger } from "../log.ts";
import { listModels, snapshot } from "../lifecycle/views.ts";
import { tagged } from "./spec.ts";
import { fieldError, jsonBody, lookupKeyField, modelNameField } from "./validate.ts";

const ClaimRef = z
  .object({ namespace: z.string().default(""), name: z.string().default(""), uid: z.string().default("") })
  .strict();
const StrMap = z.record(z.string(), z.string());

export const ActivateBody = z
  .object({
    model_name: modelNameField,
    artifact_url: z.string().min(1),
    engine: lookupKeyField.default("vllm"),
    port: z.number().int().min(0).max(65535).default(0),
    ipc_name: z.string().nullish(),
    credentials: StrMap.nullish(),
    engine_config: z
      .object({ args: StrMap.default({}) })
      .strict()
      .nullish(),
    claim_ref: ClaimRef.nullish(),
    additional_config: StrMap.nullish(),
  })
  .strict();
export const DeactivateBody = z
  .object({ model_name: z.string().min(1), mode: z.string().default("stop") })
  .strict();
export const KvLimitBody = z
  .object({
    model_name: z.string().min(1),
    limit_bytes: z.number().int().min(0),
    operation_id: z.string().min(1),
  })
  .strict();
export const SleepBody = z
  .object({
    model_name: z.string().min(1),
    level: z.number().int().min(1).max(2),
    operation_id: z.string().min(1),
  })
  .strict();
export const WakeBody = z.object({ model_name: z.string().min(1), operation_id: z.string().min(1) }).strict();

const Phase = z.enum(PHASES);
const ActivateReply = z.object({
  status: z.enum(["success", "error"]),
  model_name: z.string(),
  port: z.number().int().nullable(),
  ipc_name: z.string().nullable(),
  message: z.string().nullable(),
});
const OperationReply = z.object({
  status: z.literal("success"),
  model_name: z.string(),
  operation_id: z.string(),
  applied: z.boolean(),
  phase: z.string(),
});
const Detail = z.object({ detail: z.string() });
const ModelsReply = z.object({
  models: z.array(
    z.object({
      model_name: z.string(),
      port: z.number().int(),
      ipc_name: z.string(),
      phase: Phase,
      ready: z.boolean(),
      kv_used_bytes: z.number().int(),
      kv_total_bytes: z.number().int(),
    }),
  ),
});
const SnapshotReply = z.object({
  observed_at: z.string(),
  accelerators: z.array(
    z.object({ id: z.string(), hbm_total_bytes: z.number(), hbm_free_bytes: z.number() }),
  ),
  models: z.array(
    z.object({
      model_name: z.string(),
      artifact_url: z.string(),
      claim_ref: z.object({ namespace: z.string(), name: z.string(), uid: z.string() }).nullable(),
      port: z.number().int(),
      ipc_name: z.string(),
      phase: Phase,
      ready: z.boolean(),
      alive: z.boolean(),
      restart_count: z.number().int(),
      last_error: z.string().nullable(),
      last_transition: z.string(),
      kv_used_bytes: z.number().int(),
      kv_capacity_bytes: z.number().int(),
      hbm_peak_bytes: z.number().int(),
      request_metrics_observed: z.boolean(),
      requests_running: z.number().int(),
      requests_waiting: z.number().int(),
      request_success_total: z.number().int().nullable(),
    }),
  ),
  cached_artifacts: z.array(z.string()),
});

const validation = { 422: { description: "unknown or invalid fields (FastAPI detail list)" } };
const opErrors = {
  404: {
    description: "model is not active (no launched engine, not served by the attached engine)",
    schema: Detail,
  },
  500: { description: "the engine or command failed", schema: Detail },
  503: { description: "engine unreachable: retry", schema: Detail },
  ...validation,
};

export const lifecycleSpecs = tagged("lifecycle", [
  {
    method: "post",
    path: "/v1/runtime/models/activate",
    summary: "Launch (or return) the engine for a model: download weights, spawn, supervise",
    body: ActivateBody,
    responses: {
      200: { description: "activated (phase booting until /health answers)", schema: ActivateReply },
      400: { description: "invalid engine or engine args", schema: ActivateReply },
      500: {
        description: "cannot activate (failed model, no free port, spawn failed)",
        schema: ActivateReply,
      },
      ...validation,
    },
  },
  {
    method: "post",
    path: "/v1/runtime/models/deactivate",
    summary: "Stop a model's engine process group (TERM, then KILL after the grace period)",
    body: DeactivateBody,
    responses: {
      200: {
        description: "stopped (also for unknown models)",
        schema: z.object({ status: z.literal("success") }),
      },
      ...validation,
    },
  },
  {
    method: "post",
    path: "/v1/runtime/models/kv-limit",
    summary: "Set a model's KV cache limit through the configured command (kvctl)",
    body: KvLimitBody,
    responses: {
      200: { description: "applied, or applied:false for a repeated operation_id", schema: OperationReply },
      501: { description: "no KV limit command configured", schema: Detail },
      ...opErrors,
    },
  },
  {
    method: "post",
    path: "/v1/runtime/models/sleep",
    summary:
      "Put an engine to sleep, launched or attached (vLLM /sleep, SGLang release_memory_occupation; level 1 or 2); idempotent by operation_id",
    body: SleepBody,
    responses: {
      200: {
        description: "sleeping (applied=false: already asleep or operation_id seen)",
        schema: OperationReply,
      },
      409: { description: "the engine has no sleep mode, or is not running", schema: Detail },
      ...opErrors,
    },
  },
  {
    method: "post",
    path: "/v1/runtime/models/wake",
    summary:
      "Wake a sleeping engine (a launched one is booting until /health answers); idempotent by operation_id",
    body: WakeBody,
    responses: {
      200: { description: "woken (applied=false: not asleep or operation_id seen)", schema: OperationReply },
      409: { description: "the engine has no sleep mode", schema: Detail },
      ...opErrors,
    },
  },
  {
    method: "get",
    path: "/v1/runtime/models",
    summary: "Launched engines with phase, readiness and KV usage (never waits on downloads or other calls)",
    responses: { 200: { description: "models", schema: ModelsReply } },
  },
  {
    method: "get",
    path: "/v1/runtime/snapshot",
    summary: "Accelerators, launched engines and cached artifacts, for placement and pool policy",
    responses: { 200: { description: "snapshot", schema: SnapshotReply } },
  },
]);

export function lifecycleRoutes(life: Lifecycle, log: Logger): Hono {
  const { manager: m, actions } = life;
  const ctxOf = (c: Context) => ({ signal: c.req.raw.signal, authorization: c.req.header("authorization") });
  const app = new Hono();
  app.post("/v1/runtime/models/activate", jsonBody(ActivateBody), async (c) => {
    const b = c.req.valid("json");
    const [lo, hi] = m.portRange;
    if (b.port !== 0 && (b.port < lo || b.port >= hi))
      return fieldError(c, "port", `Port must lie in AIRUNTIME_ENGINE_PORT_RANGE [${lo}, ${hi})`, b.port);
    return c.json(await m.activate(b));
  });
  app.post("/v1/runtime/models/deactivate", jsonBody(DeactivateBody), async (c) => {
    const b = c.req.valid("json");
    if (b.mode !== "stop")
      log.info("deactivate mode is not supported; stopping", { model: b.model_name, mode: b.mode });
    return c.json(await m.deactivate(b.model_name));
  });
  app.post("/v1/runtime/models/kv-limit", jsonBody(KvLimitBody), async (c) => {
    const b = c.req.valid("json");
    return c.json(await actions.kvLimit(b.model_name, b.limit_bytes, b.operation_id));
  });
  app.post("/v1/runtime/models/sleep", jsonBody(SleepBody), async (c) => {
    const b = c.req.valid("json");
    return c.json(await actions.sleep(b.model_name, b.level as 1 | 2, b.operation_id, ctxOf(c)));
  });
  app.post("/v1/runtime/models/wake", jsonBody(WakeBody), async (c) => {
    const b = c.req.valid("json");
    return c.json(await actions.wake(b.model_name, b.operation_id, ctxOf(c)));
  });
  app.get("/v1/runtime/models", async (c) => c.json(await listModels(life.core)));
  app.get("/v1/runtime/snapshot", async (c) =>
    c.json(await snapshot(life.core, { nvidiaSmi: life.nvidiaSmi, weightCacheDir: life.weightCacheDir })),
  );
  return app;
}
