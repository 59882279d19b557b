// Any other engine: /health and /v1/models if it has them, raw metrics at /metrics, nothing else.
import { type EngineOptions, healthByPath, listModelsOpenAI } from "./base.ts";
import type { EngineAdapter } from "./types.ts";
import { rulesFor } from "../metrics/rules.ts";

export function genericAdapter(o: EngineOptions): EngineAdapter {
  return {
    kind: "generic",
    baseUrl: o.baseUrl,
    metricsPath: o.metricsPath ?? "/metrics",
    rules: rulesFor("generic"),
    health: (signal) => healthByPath(o.baseUrl, "/health", signal, Math.min(o.timeoutMs, 2000)),
    listModels: (ctx) => listModelsOpenAI(o.baseUrl, ctx, o.timeoutMs),
  };
}
