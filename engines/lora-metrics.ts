// LoRA metrics in the sidecar's own registry: loads and unloads by engine and result, load duration
// (AIBrix #167) and the number of adapters loaded.
import type { OwnMetrics } from "../metrics/own.ts";
import type { LoraMetrics } from "./lora.ts";

export const LORA_LOAD_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] as const;

export function loraMetrics(m: OwnMetrics, engine: string): LoraMetrics {
  const loads = m.counter({
    name: "aibrix:lora_adapter_load_total",
    help: "LoRA adapter load requests by engine and result (success, already, reloaded, or the HTTP status)",
    labelNames: ["engine", "result"],
  });
  const unloads = m.counter({
    name: "aibrix:lora_adapter_unload_total",
    help: "LoRA adapter unload requests by engine and result (success or the HTTP status)",
    labelNames: ["engine", "result"],
  });
  const duration = m.histogram({
    name: "aibrix:lora_adapter_load_duration_seconds",
    help: "Time to load a LoRA adapter, download included, by engine and result",
    labelNames: ["engine", "result"],
    buckets: LORA_LOAD_BUCKETS,
  });
  const loaded = m.gauge({
    name: "aibrix:lora_adapters_loaded",
    help: "LoRA adapters the sidecar has loaded into the engine",
    labelNames: ["engine"],
  });
  loaded.set({ engine }, 0);
  return {
    load(engineKind, result, seconds) {
      loads.inc({ engine: engineKind, result });
      if (result !== "reloaded" && result !== "reload_error")
        duration.observe({ engine: engineKind, result }, seconds);
    },
    unload(engineKind, result) {
      unloads.inc({ engine: engineKind, result });
    },
    loaded(n) {
      loaded.set({ engine }, n);
    },
  };
}
