// Request activity of one engine for the snapshot (AIBrix `engine_request_activity`): GET /metrics with a
// 0.5 s deadline, keep samples labelled model_name=<model>, sum running / waiting / success counters.
import { readTextCapped } from "../lib/capped-body.ts";
import { parseExposition } from "../metrics/parse.ts";
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_SERIES } from "../metrics/poller.ts";

export interface Activity {
  request_metrics_observed: boolean;
  requests_running: number;
  requests_waiting: number;
  request_success_total: number | null;
}

// AIBrix reads the vLLM names; SGLang's are added so its engines report activity too.
const RUNNING = new Set([
  "vllm:num_requests_running",
  "vllm_num_requests_running",
  "sglang:num_running_reqs",
]);
const WAITING = new Set(["vllm:num_requests_waiting", "vllm_num_requests_waiting", "sglang:num_queue_reqs"]);
const SUCCESS = new Set([
  "vllm:request_success_total",
  "vllm_request_success_total",
  "vllm:num_requests_success_total",
  "vllm_num_requests_success_total",
]);

export const NO_ACTIVITY: Activity = {
  request_metrics_observed: false,
  requests_running: 0,
  requests_waiting: 0,
  request_success_total: null,
};

/** The model's request activity from the engine's exposition (metrics/parse.ts: the one parser). */
export function activityFromText(text: string, model: string): Activity {
  let observed = false;
  let running = 0;
  let waiting = 0;
  let success: number | null = null;
  for (const family of parseExposition(text, { maxSeries: DEFAULT_MAX_SERIES }).families)
    for (const sample of family.samples) {
      const name = sample.name;
      const kind = RUNNING.has(name) ? "r" : WAITING.has(name) ? "w" : SUCCESS.has(name) ? "s" : null;
      if (!kind || sample.labels.model_name !== model || !Number.isFinite(sample.value)) continue;
      observed = true;
      if (kind === "r") running += sample.value;
      else if (kind === "w") waiting += sample.value;
      else success = (success ?? 0) + sample.value;
    }
  return {
    request_metrics_observed: observed,
    requests_running: Math.round(running),
    requests_waiting: Math.round(waiting),
    request_success_total: success === null ? null : Math.round(success),
  };
}

export async function engineActivity(port: number, model: string, timeoutMs = 500): Promise<Activity> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!r.ok) {
      await r.body?.cancel().catch(() => {});
      return NO_ACTIVITY;
    }
    // The engine is not trusted: its metrics are read with the poller's default cap.
    const { text, over } = await readTextCapped(r, DEFAULT_MAX_BYTES);
    return over ? NO_ACTIVITY : activityFromText(text, model);
  } catch {
    return NO_ACTIVITY;
  }
}

/** GET /health answers 200 within `timeoutMs` (AIBrix: 1 s). */
export async function engineHealthy(port: number, timeoutMs = 1000): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await r.body?.cancel().catch(() => {});
    return r.status === 200;
  } catch {
    return false;
  }
}
