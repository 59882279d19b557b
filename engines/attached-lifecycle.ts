// Sleep and wake for the engine the sidecar is attached to (not launched by it): AIBrix's ModelClaim
// answer {status, model_name, operation_id, applied, phase}, idempotent by operation_id, 409 for engines
// without the capability, 404 for a model the engine does not serve.
import { AppError } from "../errors.ts";
import { keyedSerial } from "./keyed.ts";
import type { CallCtx, EngineAdapter } from "./types.ts";

export interface LifecycleResult {
  status: "success";
  model_name: string;
  operation_id: string;
  applied: boolean;
  phase: string;
}

/** What POST /v1/runtime/models/sleep|wake delegate to (the engine lifecycle manager implements it too). */
export interface SleepWake {
  sleep(model: string, level: 1 | 2, operationId: string, ctx?: CallCtx): Promise<LifecycleResult>;
  wake(model: string, operationId: string, ctx?: CallCtx): Promise<LifecycleResult>;
}

/** FastAPI HTTPException body, as AIBrix's runtime API answers. */
export const detail = (status: number, message: string, code = "lifecycle_error") =>
  new AppError(code, status, message, { aibrixBody: { detail: message } });

const MAX_OPS = 1024;

export function attachedSleepWake(
  engine: EngineAdapter,
  timeoutMs: number,
): SleepWake & { engineRestarted(): void } {
  let phase: "active" | "sleeping" = "active";
  const done = new Map<string, true>(); // `${action}\0${model}\0${op}` in insertion order, bounded
  const serial = keyedSerial();

  const ctxOf = (ctx?: CallCtx): CallCtx => ({
    signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(ctx ? [ctx.signal] : [])]),
    authorization: ctx?.authorization,
  });

  async function requireServed(model: string, ctx: CallCtx) {
    let list: unknown;
    try {
      list = await engine.listModels(ctx);
    } catch (e) {
      if (e instanceof AppError) throw detail(e.status >= 500 ? e.status : 502, e.message, e.code);
      throw e;
    }
    const data = (list as { data?: Array<{ id?: unknown; parent?: unknown }> })?.data ?? [];
    if (!data.some((m) => m.id === model && !m.parent))
      throw detail(404, `model '${model}' is not active`, "model_not_active");
  }

  function remember(key: string) {
    done.set(key, true);
    if (done.size > MAX_OPS) done.delete(done.keys().next().value!);
  }

  async function run(
    action: "sleep" | "wake",
    model: string,
    op: string,
    ctx: CallCtx | undefined,
    level: 1 | 2,
  ) {
    const f = action === "sleep" ? engine.sleep : engine.wake;
    if (!f) throw detail(409, `${action} is unsupported for engine '${engine.kind}'`, "unsupported");
    return serial.run("engine", null, async (): Promise<LifecycleResult> => {
      const c = ctxOf(ctx);
      await requireServed(model, c);
      const key = `${action}\0${model}\0${op}`;
      const reply = (applied: boolean): LifecycleResult => ({
        status: "success",
        model_name: model,
        operation_id: op,
        applied,
        phase,
      });
      if (done.has(key)) return reply(false);
      if ((action === "sleep" && phase === "sleeping") || (action === "wake" && phase !== "sleeping")) {
        remember(key);
        return reply(false);
      }
      try {
        if (action === "sleep") await engine.sleep!(level, c);
        else await engine.wake!(c);
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        throw detail(e.status, `${action} of model '${model}' failed: ${e.message}`, e.code);
      }
      phase = action === "sleep" ? "sleeping" : "active";
      remember(key);
      return reply(true);
    });
  }

  return {
    sleep: (model, level, op, ctx) => run("sleep", model, op, ctx, level),
    wake: (model, op, ctx) => run("wake", model, op, ctx, 1),
    engineRestarted() {
      phase = "active";
    },
  };
}
