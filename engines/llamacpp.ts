// llama.cpp llama-server: /health (503 "Loading model" until ready), /v1/models, /metrics (needs --metrics).
// Adapters are fixed at start-up (--lora) and only rescaled at runtime, so there is no load/unload and no
// sleep call (reference/ENGINES.md §3, §10): those answer 501 / 409 naming the engine.
import { type EngineOptions, healthByPath, listModelsOpenAI } from "./base.ts";
import type { EngineAdapter } from "./types.ts";
import { rulesFor } from "../metrics/rules.ts";

export function llamacppAdapter(o: EngineOptions): EngineAdapter {
  return {
    kind: "llamacpp",
    baseUrl: o.baseUrl,
    metricsPath: o.metricsPath ?? "/metrics",
    rules: rulesFor("llamacpp"),
    health: (signal) => healthByPath(o.baseUrl, "/health", signal, Math.min(o.timeoutMs, 2000)),
    listModels: (ctx) => listModelsOpenAI(o.baseUrl, ctx, o.timeoutMs),
  };
}
