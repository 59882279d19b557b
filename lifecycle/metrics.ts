// The aibrix:modelclaim_* families with AIBrix's names and label sets (reference/AIBRIX-RUNTIME.md §3.5);
// its Grafana dashboard reads them. Gauges are computed at scrape time from the manager's state.
import type { OwnMetrics } from "../metrics/own.ts";
import { readKvUsageSync } from "./kv.ts";
import type { Logger } from "../log.ts";
import type { LifecycleAction, Phase, ReAdoptionResult } from "./types.ts";
import { RE_ADOPTION_RESULTS } from "./types.ts";

export interface LifecycleMetrics {
  restartAttempt(model: string): void;
  budgetExhausted(model: string): void;
  reAdoption(result: ReAdoptionResult): void;
  /** result: applied | skipped (repeated operation id, or nothing to do) | failed. */
  operation(
    action: LifecycleAction,
    model: string,
    result: "applied" | "skipped" | "failed",
    seconds: number,
  ): void;
  kvRequested(model: string, bytes: number): void;
  kvApplied(model: string, bytes: number): void;
  /** A deactivated model's gauges go away. */
  forget(model: string): void;
}

export interface ModelView {
  model: string;
  phase: Phase;
  ipcName: string;
  hbmPeak: number;
}

const STATE_PHASES: readonly Phase[] = ["active", "sleeping", "restarting", "failed"];

export function registerLifecycleMetrics(
  reg: OwnMetrics,
  models: () => readonly ModelView[],
  log?: Logger,
): LifecycleMetrics {
  reg.gauge({
    name: "aibrix:modelclaim_models_resident",
    help: "Number of models resident (engine processes) on this pod.",
    collect: () => models().length,
  });
  /** A gauge with one series per resident model, read at scrape time. */
  const perModelGauge = (name: string, help: string, value: (m: ModelView) => number) =>
    reg.gauge({
      name,
      help,
      labelNames: ["model"],
      collect: () => models().map((m) => ({ labels: { model: m.model }, value: value(m) })),
    });
  perModelGauge(
    "aibrix:modelclaim_kv_used_bytes",
    "KV cache bytes in use per model (kvcached segment).",
    (m) => readKvUsageSync(m.ipcName, undefined, log).used,
  );
  perModelGauge(
    "aibrix:modelclaim_kv_total_bytes",
    "KV cache bytes available per model (kvcached segment).",
    (m) => readKvUsageSync(m.ipcName, undefined, log).total,
  );
  perModelGauge(
    "aibrix:modelclaim_hbm_peak_bytes",
    "Peak accelerator memory used by the model's engine process tree.",
    (m) => m.hbmPeak,
  );
  reg.gauge({
    name: "aibrix:modelclaim_engine_state",
    help: "Number of runtime engines in each operator-relevant phase.",
    labelNames: ["phase"],
    collect: () => {
      const all = models();
      return STATE_PHASES.map((phase) => ({
        labels: { phase },
        value: all.filter((m) => m.phase === phase).length,
      }));
    },
  });
  const restarts = reg.counter({
    name: "aibrix:modelclaim_engine_restart_attempts_total",
    help: "Engine restarts attempted by the supervisor.",
    labelNames: ["model"],
  });
  const exhausted = reg.counter({
    name: "aibrix:modelclaim_engine_restart_budget_exhausted_total",
    help: "Engines that exhausted their local restart budget.",
    labelNames: ["model"],
  });
  const readoptions = reg.counter({
    name: "aibrix:modelclaim_engine_re_adoptions_total",
    help: "Registry entries handled when the runtime restarted, by result.",
    labelNames: ["result"],
  });
  for (const result of RE_ADOPTION_RESULTS) readoptions.inc({ result }, 0);
  const kvOps = reg.counter({
    name: "aibrix:modelclaim_kv_limit_operations_total",
    help: "KV limit operations by result.",
    labelNames: ["model", "result"],
  });
  const kvRequested = reg.gauge({
    name: "aibrix:modelclaim_kv_limit_requested_bytes",
    help: "Last KV limit requested per model.",
    labelNames: ["model"],
  });
  const kvApplied = reg.gauge({
    name: "aibrix:modelclaim_kv_limit_applied_bytes",
    help: "Last KV limit applied per model.",
    labelNames: ["model"],
  });
  const lifecycleOps = reg.counter({
    name: "aibrix:modelclaim_lifecycle_operations_total",
    help: "Sleep and wake operations by result.",
    labelNames: ["model", "action", "result"],
  });
  // AIBrix exposes a summary; our registry has histograms, which carry the same _count and _sum series.
  const duration = reg.histogram({
    name: "aibrix:modelclaim_lifecycle_operation_duration_seconds",
    help: "Duration of sleep and wake operations.",
    labelNames: ["model", "action", "result"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });

  return {
    restartAttempt: (model) => restarts.inc({ model }),
    budgetExhausted: (model) => exhausted.inc({ model }),
    reAdoption: (result) => readoptions.inc({ result }),
    operation(action, model, result, seconds) {
      if (action === "kv-limit") {
        kvOps.inc({ model, result });
        return;
      }
      lifecycleOps.inc({ model, action, result });
      duration.observe({ model, action, result }, seconds);
    },
    kvRequested: (model, bytes) => kvRequested.set({ model }, bytes),
    kvApplied: (model, bytes) => kvApplied.set({ model }, bytes),
    forget(model) {
      kvRequested.remove({ model });
      kvApplied.remove({ model });
    },
  };
}
