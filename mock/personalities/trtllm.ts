// TensorRT-LLM `trtllm-serve` personality (reference/ENGINES.md §5, §11.5): openai_server.py + metrics/collector.py.
// JSON iteration stats at /metrics, Prometheus at /prometheus/metrics; no runtime LoRA endpoints.
import { PromText } from "../prom.ts";
import type { EngineState, Personality } from "../types.ts";
import {
  empty,
  json,
  jsonObject,
  labelledFamilies,
  nowS,
  observePhases,
  PROM_TEXT_004,
  phaseHistograms,
  plainText,
} from "./common.ts";

export const TRTLLM_VERSION = "1.3.0rc12";
const MAX_BLOCKS = 2048;
const TOKENS_PER_BLOCK = 32;

const PREFILL = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 640, 2560];

/** Iteration stats queued for the JSON /metrics route (drained on read, like the real queue). */
const iterQueues = new WeakMap<object, unknown[]>();

function usedBlocks(s: EngineState) {
  return Math.min(MAX_BLOCKS, Math.ceil(s.sim.kvUsedTokens() / TOKENS_PER_BLOCK));
}

function createMetrics(s: EngineState): () => string {
  const h = phaseHistograms(PREFILL);
  const c = { prompt: 0, generation: 0, completed: 0, reused: 0, missed: 0 };
  const success = { stop: 0, length: 0, abort: 0 };
  let iterLatency = 0;
  const queue: unknown[] = [];
  iterQueues.set(s.sim, queue);
  s.sim.onStep((st) => {
    iterLatency = 0.01 + st.tokens / 100_000;
    c.reused += Math.floor((st.promptTokens - (st.tokens - st.generatedTokens)) / TOKENS_PER_BLOCK);
    c.missed += Math.ceil((st.tokens - st.generatedTokens) / TOKENS_PER_BLOCK);
    for (const f of st.finished) {
      c.prompt += f.req.promptTokens;
      c.generation += f.req.generated;
      c.completed++;
      success[f.reason]++;
      observePhases(h, f);
    }
    const used = usedBlocks(s);
    queue.push({
      iter: s.sim.steps,
      iterLatencyMS: iterLatency * 1000,
      numActiveRequests: s.sim.running.length,
      numQueuedRequests: s.sim.waiting.length,
      gpuMemUsage: 60_000_000_000,
      kvCacheStats: {
        maxNumBlocks: MAX_BLOCKS,
        freeNumBlocks: MAX_BLOCKS - used,
        usedNumBlocks: used,
        tokensPerBlock: TOKENS_PER_BLOCK,
        reusedBlocks: c.reused,
        missedBlocks: c.missed,
        cacheHitRate: c.reused + c.missed > 0 ? c.reused / (c.reused + c.missed) : 0,
      },
      inflightBatchingStats: {
        numContextRequests: 0,
        numGenRequests: s.sim.running.length,
        numPausedRequests: 0,
        numScheduledRequests: s.sim.running.length,
        numCtxTokens: st.tokens - st.generatedTokens,
      },
    });
    if (queue.length > 1000) queue.shift();
  });

  return () => {
    const L = { model_name: s.opts.model, engine_type: "pytorch" };
    const t = new PromText();
    const { hist, gauge, counter } = labelledFamilies(t, L);
    t.family("trtllm_request_success_total", "counter", "Count of successfully processed requests.");
    for (const reason of ["stop", "length", "abort"] as const)
      t.sample("trtllm_request_success_total", { ...L, finished_reason: reason }, success[reason]);
    hist("trtllm_e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.", h.e2e);
    hist("trtllm_time_to_first_token_seconds", "Histogram of time to first token in seconds.", h.ttft);
    hist("trtllm_time_per_output_token_seconds", "Histogram of time per output token in seconds.", h.tpot);
    hist(
      "trtllm_request_queue_time_seconds",
      "Histogram of time spent in WAITING phase for request.",
      h.queue,
    );
    hist(
      "trtllm_request_prefill_time_seconds",
      "Histogram of time spent in PREFILL phase for request.",
      h.prefill,
    );
    hist(
      "trtllm_request_decode_time_seconds",
      "Histogram of time spent in DECODE phase for request.",
      h.decode,
    );
    hist(
      "trtllm_request_inference_time_seconds",
      "Histogram of time spent in RUNNING phase for request.",
      h.inference,
    );
    counter("trtllm_prompt_tokens_total", "Number of prefill tokens processed.", c.prompt);
    counter("trtllm_generation_tokens_total", "Number of generation tokens processed.", c.generation);
    // The iteration gauges exist only once iteration stats arrived, i.e. after the first engine step.
    if (s.sim.steps > 0) {
      const used = usedBlocks(s);
      gauge("trtllm_num_requests_running", "Number of active requests.", s.sim.running.length);
      gauge("trtllm_num_requests_waiting", "Number of queued requests.", s.sim.waiting.length);
      counter("trtllm_num_requests_completed_total", "Number of completed requests.", c.completed);
      gauge(
        "trtllm_kv_cache_utilization",
        "KV cache utilization (used blocks / max blocks).",
        used / MAX_BLOCKS,
      );
      gauge(
        "trtllm_kv_cache_hit_rate",
        "KV cache hit rate.",
        c.reused + c.missed > 0 ? c.reused / (c.reused + c.missed) : 0,
      );
      counter("trtllm_kv_cache_reused_blocks_total", "Number of reused KV cache blocks.", c.reused);
      counter("trtllm_kv_cache_missed_blocks_total", "Number of missed KV cache blocks.", c.missed);
      gauge("trtllm_kv_cache_max_blocks", "Maximum number of KV cache blocks.", MAX_BLOCKS);
      gauge("trtllm_kv_cache_free_blocks", "Number of free KV cache blocks.", MAX_BLOCKS - used);
      gauge("trtllm_kv_cache_used_blocks", "Number of used KV cache blocks.", used);
      gauge("trtllm_kv_cache_tokens_per_block", "Number of tokens per KV cache block.", TOKENS_PER_BLOCK);
      gauge("trtllm_iteration_latency_seconds", "Latency of the last iteration in seconds.", iterLatency);
      gauge("trtllm_gpu_memory_usage_bytes", "GPU memory usage in bytes.", 60_000_000_000);
    }
    return t.toString();
  };
}

export const trtllm: Personality = {
  engine: "trtllm",
  // uvicorn starts after the LLM object is built: nothing listens while the model loads.
  silentWhileStarting: true,
  metricsPath: "/prometheus/metrics",
  metricsContentType: PROM_TEXT_004,
  healthPaths: ["/health", "/health_generate"],
  loraRoutes: [],
  mount(app, s) {
    app.get("/health", () => empty());
    app.get("/health_generate", () => empty());
    app.get("/version", () => json({ version: TRTLLM_VERSION }));
    app.get("/v1/models", () =>
      json({
        object: "list",
        data: [{ id: s.opts.model, object: "model", created: nowS(), owned_by: "tensorrt_llm" }],
      }),
    );
    // JSON iteration stats; the queue is drained on read.
    app.get("/metrics", () => {
      s.catchUp();
      const q = iterQueues.get(s.sim) ?? [];
      return json(q.splice(0, q.length));
    });
    const memory = (release: boolean) => async (c: import("hono").Context) => {
      const b = await jsonObject(c);
      if (b && b.tags !== undefined && !Array.isArray(b.tags))
        return json({ error: "tags must be a list" }, 400);
      s.sleepLevel = release ? 1 : 0;
      return json({ status: "success" });
    };
    app.post("/release_memory", memory(true));
    app.post("/resume_memory", memory(false));
  },
  createMetrics,
  metricsDisabled: () => json({ detail: "Not Found" }, 404),
  authorize: () => null,
  unhealthy: () => plainText("LLM is unavailable. Please check the server logs for more details.", 503),
  errorResponse: (status, message) =>
    json({ object: "error", message, type: "InternalServerError", param: null, code: status }, status),
  notFound: () => json({ detail: "Not Found" }, 404),
};
