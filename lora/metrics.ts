// LoRA metrics in the sidecar's own registry: loads and unloads by engine kind and result, load duration
// (AIBrix #167) and the number of adapters loaded.
//
// Labels have one meaning across /metrics: `engine_kind` is the engine adapter (vllm, sglang, ...), never
// `engine`, which on the engine's families is vLLM's engine index (AIBrix passes it through unchanged).
// `result` is a closed vocabulary (LORA_RESULTS): every series exists at 0 from start-up, so
// `increase(...[5m])` alerts see 0 rather than no data.
import type { OwnMetrics } from "../metrics/own.ts";
import type { LoraMetrics } from "./manager.ts";

export const LORA_LOAD_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] as const;

/** Outcomes that are not failures. */
export const LORA_OK_RESULTS = ["success", "already", "reloaded"] as const;
/** Failures, by what the caller can do about them. */
export const LORA_FAILURE_RESULTS = [
  "invalid", // 400/422: the request or the adapter is wrong
  "unauthorized", // 401/403
  "not_found", // 404: adapter or engine route missing
  "conflict", // 409: busy / another operation
  "unsupported", // 501: the engine cannot do it
  "engine_unavailable", // 502/503: engine down or refused
  "timeout", // 504: the operation outlived its deadline
  "reload_failed", // re-loading after an engine restart failed (retried)
  "error", // anything else
] as const;
export const LORA_RESULTS = [...LORA_OK_RESULTS, ...LORA_FAILURE_RESULTS] as const;
export type LoraResult = (typeof LORA_RESULTS)[number];

/** Map the manager's outcome (a word, or an HTTP status as a string) onto the closed vocabulary. */
export function loraResult(outcome: string): LoraResult {
  if ((LORA_RESULTS as readonly string[]).includes(outcome)) return outcome as LoraResult;
  if (outcome === "reload_error") return "reload_failed";
  const status = /^\d{3}$/.test(outcome) ? Number(outcome) : 0;
  if (status === 400 || status === 422) return "invalid";
  if (status === 401 || status === 403) return "unauthorized";
  if (status === 404) return "not_found";
  if (status === 409) return "conflict";
  if (status === 501) return "unsupported";
  if (status === 502 || status === 503) return "engine_unavailable";
  if (status === 504) return "timeout";
  return "error";
}

export function loraMetrics(m: OwnMetrics, engineKind: string): LoraMetrics {
  const loads = m.counter({
    name: "aibrix:lora_adapter_load_total",
    help: `LoRA adapter load requests by engine kind and result (${LORA_RESULTS.join(", ")})`,
    labelNames: ["engine_kind", "result"],
  });
  const unloads = m.counter({
    name: "aibrix:lora_adapter_unload_total",
    help: `LoRA adapter unload requests by engine kind and result (${LORA_RESULTS.join(", ")})`,
    labelNames: ["engine_kind", "result"],
  });
  const duration = m.histogram({
    name: "aibrix:lora_adapter_load_duration_seconds",
    help: "Time to load a LoRA adapter, download included, by engine kind and result",
    labelNames: ["engine_kind", "result"],
    buckets: LORA_LOAD_BUCKETS,
  });
  const loaded = m.gauge({
    name: "aibrix:lora_adapters_loaded",
    help: "LoRA adapters the sidecar has loaded into the engine",
    labelNames: ["engine_kind"],
  });
  loaded.set({ engine_kind: engineKind }, 0);
  for (const result of LORA_RESULTS) {
    loads.inc({ engine_kind: engineKind, result }, 0);
    if (result !== "reloaded" && result !== "reload_failed")
      unloads.inc({ engine_kind: engineKind, result }, 0);
  }
  return {
    load(kind, outcome, seconds) {
      const result = loraResult(outcome);
      loads.inc({ engine_kind: kind, result });
      if (result !== "reloaded" && result !== "reload_failed")
        duration.observe({ engine_kind: kind, result }, seconds);
    },
    unload(kind, outcome) {
      unloads.inc({ engine_kind: kind, result: loraResult(outcome) });
    },
    loaded(n) {
      loaded.set({ engine_kind: engineKind }, n);
    },
  };
}
