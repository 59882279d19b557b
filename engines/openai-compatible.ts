// The engines that offer only the OpenAI-compatible surface to a sidecar: /health, /v1/models and
// Prometheus text, with no runtime LoRA and no sleep/wake (those answer 501 / 409 naming the engine;
// reference/ENGINES.md §3-5, §10). What differs between them is data:
//   llamacpp  llama-server: /health is 503 "Loading model" until ready; /metrics needs --metrics; adapters
//             are fixed at start-up (--lora) and only rescaled at runtime.
//   tgi       HuggingFace TGI.
//   trtllm    trtllm-serve: Prometheus at /prometheus/metrics (plain /metrics is JSON); LoRA is chosen per
//             request; /release_memory exists for RL only.
//   generic   any other engine: /health and /v1/models if it has them, raw metrics at /metrics.
import type { EngineKind } from "../config.ts";
import { rulesFor } from "../metrics/rules.ts";
import { type EngineOptions, healthByPath, listModelsOpenAI } from "./base.ts";
import type { EngineAdapter } from "./types.ts";

export const OPENAI_COMPATIBLE: Partial<Record<EngineKind, { metricsPath: string }>> = {
  llamacpp: { metricsPath: "/metrics" },
  tgi: { metricsPath: "/metrics" },
  trtllm: { metricsPath: "/prometheus/metrics" },
  generic: { metricsPath: "/metrics" },
};

/** That surface, which vllm and sglang extend: /health, /v1/models passed through, the engine's rules. */
export function openaiCompatibleAdapter(kind: EngineKind, o: EngineOptions): EngineAdapter {
  return {
    kind,
    baseUrl: o.baseUrl,
    metricsPath: o.metricsPath ?? OPENAI_COMPATIBLE[kind]?.metricsPath ?? "/metrics",
    rules: rulesFor(kind),
    health: (signal) => healthByPath(o.baseUrl, "/health", signal, Math.min(o.timeoutMs, 2000)),
    listModels: (ctx) => listModelsOpenAI(o.baseUrl, ctx, o.timeoutMs),
  };
}
