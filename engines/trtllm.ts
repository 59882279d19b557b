// TensorRT-LLM trtllm-serve: /health, /v1/models, Prometheus at /prometheus/metrics (plain /metrics is JSON).
// LoRA is chosen per request (no load/unload routes); /release_memory exists for RL only, so sleep/wake
// are not offered (reference/ENGINES.md §5, §10).
import { type EngineOptions, healthByPath, listModelsOpenAI } from "./base.ts";
import type { EngineAdapter } from "./types.ts";
import { rulesFor } from "../metrics/rules.ts";

export function trtllmAdapter(o: EngineOptions): EngineAdapter {
  return {
    kind: "trtllm",
    baseUrl: o.baseUrl,
    metricsPath: o.metricsPath ?? "/prometheus/metrics",
    rules: rulesFor("trtllm"),
    health: (signal) => healthByPath(o.baseUrl, "/health", signal, Math.min(o.timeoutMs, 2000)),
    listModels: (ctx) => listModelsOpenAI(o.baseUrl, ctx, o.timeoutMs),
  };
}
