// Sleep, wake and KV limit on a launched engine, idempotent by operation_id (AIBrix §1.9): a repeated id,
// or nothing to do (already asleep / not asleep), answers applied:false. 404 for an unknown model, 409 for
// an engine kind without sleep, 500 when the engine or the KV command fails.
import type { EngineAdapter } from "../engines/types.ts";
import { errorMessage } from "../errors.ts";
import { detailError } from "./errors.ts";
import type { Instance, LifecycleManager, OperationResult } from "./manager.ts";
import type { LifecycleAction } from "./types.ts";

const ENGINE_CALL_TIMEOUT_MS = 10_000;

function requireInstance(m: LifecycleManager, model: string): Instance {
  const inst = m.instances.get(model);
  if (!inst) throw detailError(404, `model '${model}' is not active`, "model_not_active");
  return inst;
}

function adapterFor(m: LifecycleManager, inst: Instance, action: "sleep" | "wake"): EngineAdapter {
  const a = m.o.engineFor(inst.rec.engine, `http://127.0.0.1:${inst.rec.port}`);
  if (!a?.[action])
    throw detailError(409, `${action} is unsupported for engine '${inst.rec.engine}'`, "unsupported");
  return a;
}

/** The shared frame: model lock, idempotency by operation id, metrics, persistence. */
function operation(
  m: LifecycleManager,
  action: LifecycleAction,
  model: string,
  operationId: string,
  body: (inst: Instance) => Promise<boolean>,
): Promise<OperationResult> {
  requireInstance(m, model);
  return m.withModel(model, async () => {
    const inst = requireInstance(m, model);
    const reply = (applied: boolean): OperationResult => ({
      status: "success",
      model_name: model,
      operation_id: operationId,
      applied,
      phase: inst.rec.phase,
    });
    if (m.ops.has(action, model, operationId)) {
      m.o.metrics?.operation(action, model, "skipped", 0);
      return reply(false);
    }
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    let applied: boolean;
    try {
      applied = await body(inst);
    } catch (e) {
      m.o.metrics?.operation(action, model, "failed", seconds());
      throw e;
    }
    m.ops.record(action, model, operationId);
    m.o.metrics?.operation(action, model, applied ? "applied" : "skipped", seconds());
    await m.persist();
    return reply(applied);
  });
}

export function sleepModel(
  m: LifecycleManager,
  model: string,
  level: 1 | 2,
  operationId: string,
): Promise<OperationResult> {
  adapterFor(m, requireInstance(m, model), "sleep");
  return operation(m, "sleep", model, operationId, async (inst) => {
    if (inst.rec.phase === "sleeping") return false;
    if (inst.rec.phase !== "active" && inst.rec.phase !== "booting")
      throw detailError(
        409,
        `model '${model}' is ${inst.rec.phase}; only a running engine can sleep`,
        "wrong_phase",
      );
    try {
      await adapterFor(m, inst, "sleep").sleep!(level, {
        signal: AbortSignal.timeout(ENGINE_CALL_TIMEOUT_MS),
      });
    } catch (e) {
      throw detailError(500, `sleep of model '${model}' failed: ${errorMessage(e)}`, "engine_error");
    }
    m.setPhase(inst, "sleeping");
    return true;
  });
}

export function wakeModel(m: LifecycleManager, model: string, operationId: string): Promise<OperationResult> {
  adapterFor(m, requireInstance(m, model), "wake");
  return operation(m, "wake", model, operationId, async (inst) => {
    if (inst.rec.phase !== "sleeping") return false;
    try {
      await adapterFor(m, inst, "wake").wake!({ signal: AbortSignal.timeout(ENGINE_CALL_TIMEOUT_MS) });
    } catch (e) {
      throw detailError(500, `wake of model '${model}' failed: ${errorMessage(e)}`, "engine_error");
    }
    // The supervisor promotes it to active once /health answers.
    m.setPhase(inst, "booting");
    return true;
  });
}

export function limitKv(
  m: LifecycleManager,
  model: string,
  limitBytes: number,
  operationId: string,
): Promise<OperationResult> {
  requireInstance(m, model);
  const limiter = m.o.kvLimiter;
  if (!limiter)
    throw detailError(
      501,
      "kv-limit needs a KV limit command: set AIRUNTIME_KVCTL_COMMAND (e.g. 'kvctl limit {ipc_name} {limit_bytes}') or put kvctl on PATH",
      "not_implemented",
    );
  m.o.metrics?.kvRequested(model, limitBytes);
  return operation(m, "kv-limit", model, operationId, async (inst) => {
    try {
      await limiter(inst.rec.ipc_name, limitBytes);
    } catch (e) {
      throw detailError(500, `kv-limit of model '${model}' failed: ${errorMessage(e)}`, "kvctl_failed");
    }
    m.o.metrics?.kvApplied(model, limitBytes);
    return true;
  });
}
