// Sleep, wake and KV limit, idempotent by operation_id (AIBrix §1.9): a repeated id, or nothing to do
// (already asleep / not asleep), answers applied:false. One frame for every engine: those this sidecar
// launched (state in the core) and the engine it is attached to (a model it serves; the phase is kept in
// memory and reset when the engine restarts). Completed ids go to the one persisted operation log.
// 404 for a model no engine serves, 409 for an engine kind without sleep (AIBrix), 500 (or the engine's
// own 5xx) when the engine or the KV command fails.
import type { CallCtx, EngineAdapter } from "../engines/types.ts";
import { baseModelIds } from "../lib/model-list.ts";
import { AppError, errorMessage } from "../errors.ts";
import type { LifecycleCore } from "./core.ts";
import { detailError, unsupportedAction } from "./errors.ts";
import type { KvLimiter } from "./kv.ts";
import type { LifecycleAction } from "./types.ts";

export interface OperationResult {
  status: "success";
  model_name: string;
  operation_id: string;
  applied: boolean;
  phase: string;
}

export interface ActionDeps {
  core: LifecycleCore;
  /** An adapter for a launched engine (sleep/wake are its capabilities). */
  engineFor(kind: string, baseUrl: string): EngineAdapter | null;
  /** null: no KV limit command configured (kv-limit answers 501). */
  kvLimiter: KvLimiter | null;
  /** The engine the sidecar is attached to: sleep/wake of the models it serves. */
  attached?: EngineAdapter;
  /** Deadline of one engine call. */
  engineTimeoutMs: number;
}

export interface LifecycleActions {
  sleep(model: string, level: 1 | 2, operationId: string, ctx?: CallCtx): Promise<OperationResult>;
  wake(model: string, operationId: string, ctx?: CallCtx): Promise<OperationResult>;
  kvLimit(model: string, limitBytes: number, operationId: string): Promise<OperationResult>;
  /** The attached engine restarted: it is awake again. */
  attachedRestarted(): void;
}

/** Where a sleep or wake goes: a launched engine, or the attached one. */
interface Target {
  lock: string;
  kind: string;
  adapter: EngineAdapter | null;
  phase(): string;
  /** Under the lock: the model is still there (404 otherwise). */
  check(ctx: CallCtx): Promise<void>;
  /** Why it cannot sleep now (a launched engine that is not running), or null. */
  notSleepable(): string | null;
  /** After the engine call: asleep, or awake again. */
  became(asleep: boolean): void;
}

const notActive = (model: string) => detailError("model_not_active", `model '${model}' is not active`);

export function createLifecycleActions(d: ActionDeps): LifecycleActions {
  const { core } = d;
  let attachedPhase: "active" | "sleeping" = "active";

  function launchedTarget(model: string): Target | null {
    const inst = core.get(model);
    if (!inst) return null;
    return {
      lock: model,
      kind: inst.rec.engine,
      adapter: d.engineFor(inst.rec.engine, `http://127.0.0.1:${inst.rec.port}`),
      phase: () => inst.rec.phase,
      async check() {
        if (core.get(model) !== inst) throw notActive(model);
      },
      notSleepable: () =>
        inst.rec.phase === "active" || inst.rec.phase === "booting"
          ? null
          : `model '${model}' is ${inst.rec.phase}; only a running engine can sleep`,
      // Awake again it boots: the supervisor promotes it to active once /health answers.
      became: (asleep) => core.setPhase(inst, asleep ? "sleeping" : "booting"),
    };
  }

  function attachedTarget(model: string, engine: EngineAdapter): Target {
    return {
      lock: "\u0000attached",
      kind: engine.kind,
      adapter: engine,
      phase: () => attachedPhase,
      async check(ctx) {
        let list: unknown;
        try {
          list = await engine.listModels(ctx);
        } catch (e) {
          if (e instanceof AppError) throw detailError(e.code, e.message, e.status >= 500 ? e.status : 502);
          throw e;
        }
        if (!baseModelIds(list).includes(model)) throw notActive(model);
      },
      notSleepable: () => null,
      became: (asleep) => {
        attachedPhase = asleep ? "sleeping" : "active";
      },
    };
  }

  const targetOf = (model: string): Target => {
    const t = launchedTarget(model) ?? (d.attached ? attachedTarget(model, d.attached) : null);
    if (!t) throw notActive(model);
    return t;
  };

  const ctxOf = (ctx?: CallCtx): CallCtx => ({
    signal: AbortSignal.any([AbortSignal.timeout(d.engineTimeoutMs), ...(ctx ? [ctx.signal] : [])]),
    authorization: ctx?.authorization,
  });

  /** The shared frame: lock, idempotency by operation id, metrics, persistence. */
  function operation(
    action: LifecycleAction,
    model: string,
    operationId: string,
    t: Pick<Target, "lock" | "phase" | "check">,
    ctx: CallCtx | undefined,
    body: (c: CallCtx) => Promise<boolean>,
  ): Promise<OperationResult> {
    return core.withModel(t.lock, async () => {
      const c = ctxOf(ctx);
      await t.check(c);
      const reply = (applied: boolean): OperationResult => ({
        status: "success",
        model_name: model,
        operation_id: operationId,
        applied,
        phase: t.phase(),
      });
      if (core.operations.has(action, model, operationId)) {
        core.metrics?.operation(action, model, "skipped", 0);
        return reply(false);
      }
      const t0 = performance.now();
      const seconds = () => (performance.now() - t0) / 1000;
      let applied: boolean;
      try {
        applied = await body(c);
      } catch (e) {
        core.metrics?.operation(action, model, "failed", seconds());
        throw e;
      }
      core.operations.record(action, model, operationId);
      core.metrics?.operation(action, model, applied ? "applied" : "skipped", seconds());
      await core.persist();
      return reply(applied);
    });
  }

  function sleepOrWake(
    action: "sleep" | "wake",
    model: string,
    level: 1 | 2,
    operationId: string,
    ctx?: CallCtx,
  ): Promise<OperationResult> {
    const t = targetOf(model);
    const adapter = t.adapter;
    if (!adapter?.[action]) throw unsupportedAction(action, t.kind);
    return operation(action, model, operationId, t, ctx, async (c) => {
      const sleep = action === "sleep";
      if ((t.phase() === "sleeping") === sleep) return false;
      const refused = sleep ? t.notSleepable() : null;
      if (refused) throw detailError("wrong_phase", refused);
      try {
        await (sleep ? adapter.sleep!(level, c) : adapter.wake!(c));
      } catch (e) {
        throw engineFailure(action, model, e);
      }
      t.became(sleep);
      return true;
    });
  }

  return {
    sleep: (model, level, operationId, ctx) => sleepOrWake("sleep", model, level, operationId, ctx),
    wake: (model, operationId, ctx) => sleepOrWake("wake", model, 1, operationId, ctx),
    kvLimit(model, limitBytes, operationId) {
      if (!core.has(model)) throw notActive(model);
      const limiter = d.kvLimiter;
      if (!limiter)
        throw detailError(
          "unsupported",
          "kv-limit needs a KV limit command: set AIRUNTIME_KVCTL_COMMAND (e.g. 'kvctl limit {ipc_name} {limit_bytes}') or put kvctl on PATH",
        );
      core.metrics?.kvRequested(model, limitBytes);
      const t = launchedTarget(model)!;
      return operation("kv-limit", model, operationId, t, undefined, async () => {
        const inst = core.get(model)!;
        try {
          await limiter(inst.rec.ipc_name, limitBytes);
        } catch (e) {
          throw detailError("kvctl_failed", `kv-limit of model '${model}' failed: ${errorMessage(e)}`);
        }
        core.metrics?.kvApplied(model, limitBytes);
        return true;
      });
    },
    attachedRestarted() {
      attachedPhase = "active";
    },
  };
}

/** An engine call that failed: the engine's own 5xx (unreachable, timeout: retried by the controller) and
 *  "unsupported" (409, AIBrix) pass through; anything else is 500, as AIBrix answers. */
function engineFailure(action: string, model: string, e: unknown): AppError {
  const passed = e instanceof AppError && (e.status >= 500 || e.code === "unsupported");
  return detailError(
    e instanceof AppError ? e.code : "engine_error",
    `${action} of model '${model}' failed: ${errorMessage(e)}`,
    passed ? (e as AppError).status : 500,
  );
}
