// SGLang personality (reference/ENGINES.md §2, §11.2): http_server.py of the SRT runtime.
// Facts marked [R] in ENGINES.md (secondary or partly checked) are marked [R] here too.
import type { Hono } from "hono";
import { adapterDirProblem } from "../adapter-dir.ts";
import { Histogram, PromText } from "../prom.ts";
import type { EngineState, Personality } from "../types.ts";
import { bearer, empty, field, json, jsonObject, nowS, plainText, PROM_TEXT_004, str } from "./common.ts";

export const SGLANG_VERSION = "0.5.4";
const CONTEXT_LEN = 8192;
const PAGE_SIZE = 1;
const MAX_TOTAL_TOKENS = 2048 * 16;

const loraResult = (s: EngineState, success: boolean, error: string, status = success ? 200 : 400) =>
  json(
    { success, error_message: success ? "" : error, loaded_adapters: Object.fromEntries(s.adapters) },
    status,
  );

function mountLora(app: Hono, s: EngineState) {
  app.post("/load_lora_adapter", async (c) => {
    const b = await jsonObject(c);
    const name = b ? str(b.lora_name) : undefined;
    const path = b ? str(b.lora_path) : undefined;
    if (!s.opts.enableLora)
      return loraResult(s, false, "LoRA is not enabled. Please set `--enable-lora` to enable LoRA.");
    if (!name || !path) return loraResult(s, false, "Both lora_name and lora_path must be provided.");
    if (s.adapters.has(name))
      return loraResult(s, false, `Failed to load LoRA adapter ${name} because it is already loaded`);
    const problem = await adapterDirProblem(path);
    if (problem) return loraResult(s, false, `Failed to load LoRA adapter ${name}: ${problem}`);
    s.adapters.set(name, path);
    return loraResult(s, true, "");
  });
  app.post("/unload_lora_adapter", async (c) => {
    const b = await jsonObject(c);
    const name = b ? str(b.lora_name) : undefined;
    if (!name) return loraResult(s, false, "lora_name must be provided.");
    if (!s.adapters.has(name))
      return loraResult(s, false, `LoRA adapter ${name} is not loaded, so it cannot be unloaded`);
    s.adapters.delete(name);
    return loraResult(s, true, "");
  });
}

function serverArgs(s: EngineState) {
  return {
    model_path: s.opts.model,
    tokenizer_path: s.opts.model,
    served_model_name: s.opts.model,
    host: "127.0.0.1",
    context_length: CONTEXT_LEN,
    enable_lora: true,
    max_loras_per_batch: s.opts.maxLoras,
    max_loaded_loras: null,
    lora_paths: Object.fromEntries(s.adapters),
    enable_metrics: s.opts.metrics,
    page_size: PAGE_SIZE,
    dp_size: 1,
    tp_size: 1,
    api_key: s.opts.apiKey ? "***" : null,
  };
}

function createMetrics(s: EngineState): () => string {
  const TTFT = [0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400];
  const ITL = [
    0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.06, 0.08, 0.1, 0.2, 0.4, 0.6,
    0.8, 1, 2, 4, 6, 8,
  ];
  const E2E = [
    0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400, 600, 1200, 1800, 2400,
  ];
  const QUEUE = [
    0, 0.1, 0.2, 0.5, 1, 2, 3, 4, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100, 200, 300, 400, 500, 600,
    700, 800, 900, 1000, 1200, 1400, 1600, 1800, 2000, 2500, 3000,
  ];
  const h = {
    ttft: new Histogram(TTFT),
    itl: new Histogram(ITL),
    e2e: new Histogram(E2E),
    queue: new Histogram(QUEUE),
  };
  const c = { prompt: 0, generation: 0, cached: 0, requests: 0, aborted: 0 };
  let genThroughput = 0;
  let cacheHitRate = 0;
  s.sim.onStep((st) => {
    genThroughput = st.generatedTokens / 0.1;
    for (const f of st.finished) {
      c.prompt += f.req.promptTokens;
      c.generation += f.req.generated;
      c.cached += f.req.cachedTokens;
      c.requests++;
      if (f.reason === "abort") c.aborted++;
      h.ttft.observe(f.ttftS);
      h.e2e.observe(f.e2eS);
      h.queue.observe(f.queueS);
      // The ITL buckets grow per token while _sum grows by the whole interval (ENGINES.md §2.3).
      if (f.req.generated > 1) h.itl.observe(f.itlS, f.req.generated - 1);
    }
    // The gauge covers the last prefill batch and is written 0.0 by decode-only logging.
    const prefill = st.promptTokens;
    cacheHitRate = prefill > 0 ? Math.min(1, (prefill - st.tokens + st.generatedTokens) / prefill) : 0;
  });

  return () => {
    const sched = { model_name: s.opts.model, engine_type: "unified", tp_rank: "0", pp_rank: "0" };
    const tok = { model_name: s.opts.model };
    const t = new PromText();
    const g = (name: string, help: string, v: number) => t.family(name, "gauge", help).sample(name, sched, v);
    const ctr = (name: string, help: string, v: number, labels = tok) =>
      t.family(name, "counter", help).sample(name, labels, v);
    const used = s.sim.kvUsedTokens();
    g("sglang:num_running_reqs", "The number of running requests.", s.sim.running.length);
    g("sglang:num_queue_reqs", "The number of requests in the waiting queue.", s.sim.waiting.length);
    g("sglang:num_grammar_queue_reqs", "The number of requests in the grammar waiting queue.", 0);
    g("sglang:num_used_tokens", "The number of used tokens.", used);
    g(
      "sglang:max_total_num_tokens",
      "Maximum total number of tokens in the KV cache pool.",
      MAX_TOTAL_TOKENS,
    );
    g("sglang:token_usage", "The token usage.", Math.min(1, used / MAX_TOTAL_TOKENS));
    g("sglang:cache_hit_rate", "The prefix cache hit rate.", cacheHitRate);
    g("sglang:gen_throughput", "The generation throughput (token/s).", genThroughput);
    g("sglang:utilization", "The utilization.", s.sim.running.length > 0 ? 1 : 0);
    if (s.opts.enableLora) {
      // Only when LoRA is enabled; the slots are --max-loras-per-batch.
      const slots = s.sim.adapterLists().running.length;
      g("sglang:lora_pool_slots_used", "Number of LoRA adapter slots in use.", slots);
      // A gauge named ..._total: the real name, which promtool lints.
      g("sglang:lora_pool_slots_total", "Total number of LoRA adapter slots.", s.opts.maxLoras);
      g("sglang:lora_pool_utilization", "LoRA pool utilization (0-1).", slots / s.opts.maxLoras);
    }
    // [R] SGLang >= 0.5.11 reportedly also exports plain sglang:page_size / sglang:num_pages gauges (a
    // third-party claim, unverified): not emitted; the cache info below carries both as labels.
    t.family("sglang:cache_config_info", "gauge", "Cache config info.");
    t.sample(
      "sglang:cache_config_info",
      { page_size: String(PAGE_SIZE), num_pages: String(MAX_TOTAL_TOKENS / PAGE_SIZE) },
      1,
    );
    ctr("sglang:prompt_tokens_total", "Number of prefill tokens processed.", c.prompt);
    ctr("sglang:generation_tokens_total", "Number of generation tokens processed.", c.generation);
    t.family("sglang:cached_tokens_total", "counter", "Number of cached prompt tokens.");
    t.sample("sglang:cached_tokens_total", { ...tok, cache_source: "device" }, c.cached);
    t.sample("sglang:cached_tokens_total", { ...tok, cache_source: "total" }, c.cached);
    ctr("sglang:num_requests_total", "Number of requests processed.", c.requests);
    ctr("sglang:num_aborted_requests_total", "Number of requests aborted.", c.aborted);
    ctr("sglang:num_so_requests_total", "Number of structured output requests processed.", 0);
    t.family(
      "sglang:time_to_first_token_seconds",
      "histogram",
      "Histogram of time to first token in seconds.",
    );
    t.histogram("sglang:time_to_first_token_seconds", tok, h.ttft);
    t.family(
      "sglang:inter_token_latency_seconds",
      "histogram",
      "Histogram of inter-token latency in seconds.",
    );
    t.histogram("sglang:inter_token_latency_seconds", tok, h.itl);
    t.family(
      "sglang:e2e_request_latency_seconds",
      "histogram",
      "Histogram of End-to-end request latency in seconds",
    );
    t.histogram("sglang:e2e_request_latency_seconds", tok, h.e2e);
    t.family("sglang:queue_time_seconds", "histogram", "Histogram of queueing time in seconds.");
    t.histogram("sglang:queue_time_seconds", sched, h.queue);
    return t.toString();
  };
}

export const sglang: Personality = {
  engine: "sglang",
  // Newer SGLang answers /health with 503 while ServerStatus is Starting.
  silentWhileStarting: false,
  metricsPath: "/metrics",
  metricsContentType: PROM_TEXT_004,
  healthPaths: ["/health", "/health_generate", "/ping"],
  loraRoutes: [
    { method: "POST", path: /^\/load_lora_adapter$/, kind: "load", name: (b) => field(b, "lora_name") },
    { method: "POST", path: /^\/unload_lora_adapter$/, kind: "unload", name: (b) => field(b, "lora_name") },
  ],
  mount(app, s) {
    const health = () => (s.isReady() ? empty() : empty(503));
    app.get("/health", health);
    app.get("/health_generate", health);
    app.on(["GET", "POST"], "/ping", health);
    // Until ready, every other SGLang route is unusable too; answer 503 like the health check.
    app.use("*", async (c, next) => (s.isReady() || c.req.path === "/metrics" ? next() : empty(503)));
    app.get("/v1/models", () => {
      const created = nowS();
      const base = {
        id: s.opts.model,
        object: "model",
        created,
        owned_by: "sglang",
        root: s.opts.model,
        max_model_len: CONTEXT_LEN,
      };
      // [R] Whether current SGLang lists loaded adapters here is unverified; the mock lists them with `parent`.
      const loras = [...s.adapters].map(([name, path]) => ({
        id: name,
        object: "model",
        created,
        owned_by: "sglang",
        root: path,
        parent: s.opts.model,
        max_model_len: CONTEXT_LEN,
      }));
      return json({ object: "list", data: [base, ...loras] });
    });
    app.get("/get_model_info", () =>
      json({
        model_path: s.opts.model,
        tokenizer_path: s.opts.model,
        is_generation: true,
        preferred_sampling_params: null,
        weight_version: "default",
      }),
    );
    app.get("/get_server_info", () =>
      json({
        ...serverArgs(s),
        internal_states: [{ last_gen_throughput: 0, memory_usage: { weight: 15.0, kvcache: 4.0 } }],
        version: SGLANG_VERSION,
      }),
    );
    app.get("/get_load", () =>
      json([
        {
          dp_rank: 0,
          num_reqs: s.sim.running.length,
          num_waiting_reqs: s.sim.waiting.length,
          num_tokens: s.sim.kvUsedTokens(),
        },
      ]),
    );
    // Not performed (400) while requests are running or waiting.
    app.on(["GET", "POST"], "/flush_cache", () =>
      s.sim.running.length + s.sim.waiting.length > 0
        ? plainText(
            "Cache not flushed. Please check backend logs for more details. (When there are running or waiting requests, the operation will not be performed.)",
            400,
          )
        : plainText(
            "Cache flushed.\nPlease check backend logs for more details. (When there are running or waiting requests, the operation will not be performed.)\n",
          ),
    );
    // [R] --enable-memory-saver is assumed on. Newer ReqOutput bodies carry success and message.
    app.on(["GET", "POST"], "/release_memory_occupation", () => {
      s.sleepLevel = 1;
      return json({ success: true, message: "" });
    });
    app.on(["GET", "POST"], "/resume_memory_occupation", () => {
      s.sleepLevel = 0;
      return json({ success: true, message: "" });
    });
    mountLora(app, s);
  },
  createMetrics,
  metricsDisabled: () => json({ detail: "Not Found" }, 404),
  // add_api_key_middleware skips paths starting with /health and /metrics.
  authorize(c, s) {
    const p = c.req.path;
    if (!s.opts.apiKey || c.req.method === "OPTIONS" || p.startsWith("/health") || p.startsWith("/metrics"))
      return null;
    return bearer(c) === s.opts.apiKey ? null : json({ error: "Unauthorized" }, 401);
  },
  unhealthy: () => empty(503),
  errorResponse: (status, message) => json({ error: { message } }, status),
  notFound: () => json({ detail: "Not Found" }, 404),
};
