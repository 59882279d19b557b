// The engine-neutral surface every engine adapter implements (one small module per engine).
import type { EngineKind } from "../config.ts";
import type { MetricRule } from "../metrics/types.ts";

export type { EngineKind };

export interface EngineHealth {
  healthy: boolean;
  /** Why not healthy, in words an operator (and the AIBrix controller's retry matcher) understands. */
  reason?: string;
}

/** Per-call context: the caller's Authorization header is forwarded to the engine (AIBrix bug B3). */
export interface CallCtx {
  signal: AbortSignal;
  authorization?: string;
}

export interface EngineAdapter {
  readonly kind: EngineKind;
  /** Base URL of the (first) engine endpoint. */
  readonly baseUrl: string;
  readonly metricsPath: string;
  readonly rules: readonly MetricRule[];
  health(signal: AbortSignal): Promise<EngineHealth>;
  listModels(ctx: CallCtx): Promise<unknown>;
  loadLora?(req: { name: string; path: string }, ctx: CallCtx): Promise<void>;
  unloadLora?(name: string, ctx: CallCtx): Promise<void>;
  sleep?(level: 1 | 2, ctx: CallCtx): Promise<void>;
  wake?(ctx: CallCtx): Promise<void>;
}
