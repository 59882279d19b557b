// HuggingFace TGI: /health, /v1/models, /metrics. No runtime LoRA and no sleep (reference/ENGINES.md §4, §10).
import { type EngineOptions, healthByPath, listModelsOpenAI } from "./base.ts";
import type { EngineAdapter } from "./types.ts";
import { rulesFor } from "../metrics/rules.ts";

export function tgiAdapter(o: EngineOptions): EngineAdapter {
  return {
    kind: "tgi",
    baseUrl: o.baseUrl,
    metricsPath: o.metricsPath ?? "/metrics",
    rules: rulesFor("tgi"),
    health: (signal) => healthByPath(o.baseUrl, "/health", signal, Math.min(o.timeoutMs, 2000)),
    listModels: (ctx) => listModelsOpenAI(o.baseUrl, ctx, o.timeoutMs),
  };
}
