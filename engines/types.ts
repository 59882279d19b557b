// The engine-neutral surface every engine adapter implements (one small module per engine).
// A capability an engine lacks is an absent method: callers answer 501 (LoRA) or 409 (sleep/wake) naming
// the engine and the capability.
import type { EngineKind } from "../config.ts";
import type { RuleSet } from "../metrics/types.ts";

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

export interface LoraLoadResult {
  /** The engine already had an adapter of that name (its "already loaded" answer): still success. */
  already: boolean;
  /** The engine's own success text (or a description of the already-loaded answer). */
  engineMessage: string;
}

export type Capability = "lora_load" | "lora_unload" | "lora_list" | "sleep" | "wake";

export interface EngineAdapter {
  readonly kind: EngineKind;
  /** Base URL of the (first) engine endpoint. */
  readonly baseUrl: string;
  readonly metricsPath: string;
  /** How this engine's metric families map to the standardized aibrix:* schema (metrics/rules.ts). */
  readonly rules: RuleSet;
  health(signal: AbortSignal): Promise<EngineHealth>;
  /** The OpenAI model list (engines without /v1/models get one synthesized). */
  listModels(ctx: CallCtx): Promise<unknown>;
  /** Names of the LoRA adapters the engine has loaded, when the engine can tell (absent: it cannot). */
  listLoras?(ctx: CallCtx): Promise<string[]>;
  /** Throws AppError: 404 path not found, 4xx engine's reason, 502/503/504 transient (retry words). */
  loadLora?(req: { name: string; path: string }, ctx: CallCtx): Promise<LoraLoadResult>;
  /** Throws AppError 404 when the engine does not have the adapter. Returns the engine's text. */
  unloadLora?(name: string, ctx: CallCtx): Promise<string>;
  sleep?(level: 1 | 2, ctx: CallCtx): Promise<void>;
  wake?(ctx: CallCtx): Promise<void>;
}

/** What the adapter can do, for messages and GET /v1/lora_adapter. */
export function capabilities(e: EngineAdapter): Capability[] {
  const out: Capability[] = [];
  if (e.loadLora) out.push("lora_load");
  if (e.unloadLora) out.push("lora_unload");
  if (e.listLoras) out.push("lora_list");
  if (e.sleep) out.push("sleep");
  if (e.wake) out.push("wake");
  return out;
}
