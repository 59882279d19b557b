// Static registry: engine kind -> adapter factory. Unknown kinds never get here (config falls back to generic).
import type { EngineKind } from "../config.ts";
import { type EngineOptions, healthByPath, listModelsOpenAI } from "./base.ts";
import type { EngineAdapter } from "./types.ts";

/** Where each engine answers liveness/readiness and exposes Prometheus text (reference/ENGINES.md §10). */
const HEALTH_PATH: Record<EngineKind, string> = {
  vllm: "/health",
  sglang: "/health",
  llamacpp: "/health",
  tgi: "/health",
  trtllm: "/health",
  triton: "/v2/health/ready",
  generic: "/health",
};
const METRICS_PATH: Record<EngineKind, string> = {
  vllm: "/metrics",
  sglang: "/metrics",
  llamacpp: "/metrics",
  tgi: "/metrics",
  trtllm: "/prometheus/metrics",
  triton: "/metrics",
  generic: "/metrics",
};

function basicAdapter(kind: EngineKind, o: EngineOptions): EngineAdapter {
  return {
    kind,
    baseUrl: o.baseUrl,
    metricsPath: o.metricsPath ?? METRICS_PATH[kind],
    rules: [],
    health: (signal) => healthByPath(o.baseUrl, HEALTH_PATH[kind], signal, Math.min(o.timeoutMs, 2000)),
    listModels: (ctx) => listModelsOpenAI(o.baseUrl, ctx, o.timeoutMs),
  };
}

export function createEngineAdapter(kind: EngineKind, o: EngineOptions): EngineAdapter {
  return basicAdapter(kind, o);
}
