// vLLM personality (reference/ENGINES.md §1, §11.1): the OpenAI server of vLLM V1.
// ENGINES.md marks no [R] fact for vLLM's management API or metrics; version-dependent choices are named where
// made (newer error JSON, counters without _created as in multiprocess mode).
import type { Context, Hono } from "hono";
import { adapterDirProblem } from "../adapter-dir.ts";
import { Histogram, PromText } from "../prom.ts";
import type { EngineState, Personality } from "../types.ts";
import {
  bareText,
  buckets125,
  empty,
  field,
  json,
  jsonObject,
  labelledFamilies,
  nowS,
  observePhases,
  PROM_TEXT_004,
  phaseHistograms,
  str,
  VLLM_REQUEST_LATENCY_BUCKETS,
  VLLM_TPOT_BUCKETS,
} from "./common.ts";

export const VLLM_VERSION = "0.11.0";
const MAX_MODEL_LEN = 8192;
const BLOCK_SIZE = 16;
const NUM_GPU_BLOCKS = 2048;

/** Newer vLLM error JSON: `{"error":{message,type,param,code}}` (older: flat `{"object":"error",...}`). */
export function vllmError(status: number, message: string, type: string, param: string | null = null) {
  return json({ error: { message, type, param, code: status } }, status);
}

const truthy = (v: string | undefined) => ["1", "true"].includes((v ?? "").trim().toLowerCase());

function modelCards(s: EngineState) {
  const created = nowS();
  const perm = () => [
    {
      id: `modelperm-${crypto.randomUUID().replace(/-/g, "")}`,
      object: "model_permission",
      created,
      allow_create_engine: false,
      allow_sampling: true,
      allow_logprobs: true,
      allow_search_indices: false,
      allow_view: true,
      allow_fine_tuning: false,
      organization: "*",
      group: null,
      is_blocking: false,
    },
  ];
  const base = {
    id: s.opts.model,
    object: "model",
    created,
    owned_by: "vllm",
    root: s.opts.model,
    parent: null,
    max_model_len: MAX_MODEL_LEN,
    permission: perm(),
  };
  const loras = [...s.adapters].map(([name, path]) => ({
    id: name,
    object: "model",
    created,
    owned_by: "vllm",
    root: path,
    parent: s.opts.model,
    max_model_len: null,
    permission: perm(),
  }));
  return { object: "list", data: [base, ...loras] };
}

function mountLora(app: Hono, s: EngineState) {
  // Success bodies are plain text with no media type: vLLM returns `Response(status_code=200, content=...)`.
  app.post("/v1/load_lora_adapter", async (c) => {
    const b = await jsonObject(c);
    if (!b) return vllmError(400, "Invalid request body: expected a JSON object", "BadRequestError");
    const name = str(b.lora_name);
    const path = str(b.lora_path);
    if (!name || !path)
      return vllmError(400, "Both 'lora_name' and 'lora_path' must be provided.", "InvalidUserInput");
    // Message not confirmed against a real engine; the status and error shape are vLLM's.
    if (!s.opts.enableLora)
      return vllmError(400, "LoRA is not enabled. Use --enable-lora to enable LoRA.", "BadRequestError");
    const inplace = b.load_inplace === true;
    if (s.adapters.has(name) && !inplace)
      return vllmError(
        400,
        `The lora adapter '${name}' has already been loaded. If you want to load the adapter in place, set 'load_inplace' to True.`,
        "InvalidUserInput",
      );
    // A path without adapter_config.json fails inside the engine; an error containing "No adapter found" is a
    // 404 NotFoundError (ENGINES.md §1.2). The exact message text is the mock's.
    if (await adapterDirProblem(path))
      return vllmError(404, `Loading lora ${name} failed: No adapter found for ${path}`, "NotFoundError");
    s.adapters.set(name, path);
    return bareText(`Success: LoRA adapter '${name}' added successfully.`);
  });
  app.post("/v1/unload_lora_adapter", async (c) => {
    const b = await jsonObject(c);
    const name = b ? str(b.lora_name) : undefined;
    if (!name) return vllmError(400, "Field 'lora_name' must be provided.", "InvalidUserInput");
    if (!s.adapters.has(name))
      return vllmError(404, `The lora adapter '${name}' cannot be found.`, "NotFoundError");
    s.adapters.delete(name);
    return bareText(`Success: LoRA adapter '${name}' removed successfully.`);
  });
}

function mountDev(app: Hono, s: EngineState) {
  app.post("/sleep", (c) => {
    const level = Number(c.req.query("level") ?? "1");
    if (level !== 1 && level !== 2) return vllmError(400, "level must be 1 or 2", "BadRequestError");
    s.sleepLevel = level;
    return empty();
  });
  app.post("/wake_up", () => {
    s.sleepLevel = 0;
    return empty();
  });
  app.get("/is_sleeping", () => json({ is_sleeping: s.sleepLevel !== 0 }));
  app.post("/reset_prefix_cache", () => empty());
  app.post("/collective_rpc", async (c) => {
    const b = await jsonObject(c);
    if (!b || !str(b.method)) return vllmError(400, "Field 'method' must be provided.", "BadRequestError");
    return json({ results: [null] });
  });
}

function mountInference(app: Hono, s: EngineState) {
  const handler = (chat: boolean) => async (c: Context) => {
    const b = await jsonObject(c);
    const model = b ? str(b.model) : undefined;
    if (!model || (model !== s.opts.model && !s.adapters.has(model)))
      return vllmError(404, `The model \`${model ?? ""}\` does not exist.`, "NotFoundError", "model");
    const maxTokens = typeof b?.max_tokens === "number" ? b.max_tokens : 16;
    s.sim.enqueue(model === s.opts.model ? null : model, 12, maxTokens);
    const id = `${chat ? "chatcmpl" : "cmpl"}-${crypto.randomUUID().replace(/-/g, "")}`;
    const usage = { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 };
    const choice = chat
      ? { index: 0, message: { role: "assistant", content: "Hello from the mock." }, finish_reason: "stop" }
      : { index: 0, text: " Hello from the mock.", finish_reason: "stop" };
    return json({
      id,
      object: chat ? "chat.completion" : "text_completion",
      created: nowS(),
      model,
      choices: [choice],
      usage,
    });
  };
  app.post("/v1/completions", handler(false));
  app.post("/v1/chat/completions", handler(true));
}

/** vLLM V1 metric families (loggers.py): names, types, labels, units and bucket lists of ENGINES.md §1.3. */
function createMetrics(s: EngineState): () => string {
  const ITER = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
  const B125 = buckets125(MAX_MODEL_LEN);
  const h = {
    promptTokens: new Histogram(B125),
    generationTokens: new Histogram(B125),
    iterationTokens: new Histogram(ITER),
    maxGenTokens: new Histogram(B125),
    paramsN: new Histogram([1, 2, 5, 10, 20]),
    paramsMaxTokens: new Histogram(B125),
    itl: new Histogram(VLLM_TPOT_BUCKETS),
    ...phaseHistograms(VLLM_REQUEST_LATENCY_BUCKETS),
  };
  const c = { prefixQueries: 0, prefixHits: 0, preemptions: 0, promptTokens: 0, generationTokens: 0 };
  const success = { stop: 0, length: 0, abort: 0 };
  // Every (max_lora, waiting, running) combination seen, with the Unix time of its last update; stale ones stay.
  const loraSeries = new Map<string, { waiting: string; running: string; ts: number }>();
  const touchLora = () => {
    const { running, waiting } = s.sim.adapterLists();
    const key = `${waiting.join(",")}|${running.join(",")}`;
    const entry = loraSeries.get(key) ?? { waiting: waiting.join(","), running: running.join(","), ts: 0 };
    entry.ts = s.stamp();
    loraSeries.set(key, entry);
    if (loraSeries.size > 200) loraSeries.delete(loraSeries.keys().next().value!);
  };

  s.sim.onStep((st) => {
    h.iterationTokens.observe(st.tokens);
    c.preemptions += st.preemptions;
    for (const f of st.finished) {
      const r = f.req;
      c.promptTokens += r.promptTokens;
      c.generationTokens += r.generated;
      c.prefixQueries += r.promptTokens;
      c.prefixHits += r.cachedTokens;
      success[f.reason]++;
      h.promptTokens.observe(r.promptTokens);
      h.generationTokens.observe(r.generated);
      h.maxGenTokens.observe(r.maxTokens);
      h.paramsN.observe(r.n);
      h.paramsMaxTokens.observe(r.maxTokens);
      if (r.generated > 1) h.itl.observe(f.itlS, r.generated - 1);
      observePhases(h, f);
    }
    touchLora();
  });

  return () => {
    const L = { model_name: s.opts.model, engine: "0" };
    const t = new PromText();
    const { gauge, counter, hist } = labelledFamilies(t, L, "_total");

    // Created only when LoRA is enabled.
    if (s.opts.enableLora && loraSeries.size === 0) touchLora();
    if (s.opts.enableLora && loraSeries.size > 0) {
      t.family("vllm:lora_requests_info", "gauge", "Running stats on lora requests.");
      for (const e of loraSeries.values())
        t.sample(
          "vllm:lora_requests_info",
          {
            max_lora: String(s.opts.maxLoras),
            waiting_lora_adapters: e.waiting,
            running_lora_adapters: e.running,
          },
          e.ts,
        );
    }
    gauge(
      "vllm:num_requests_running",
      "Number of requests in model execution batches.",
      s.sim.running.length,
    );
    gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", s.sim.waiting.length);
    t.family(
      "vllm:engine_sleep_state",
      "gauge",
      "Engine sleep state; awake = 0 means engine is sleeping; awake = 1 means engine is awake; weights_offloaded = 1 means sleep level 1; discard_all = 1 means sleep level 2.",
    );
    for (const [state, on] of [
      ["awake", s.sleepLevel === 0],
      ["weights_offloaded", s.sleepLevel === 1],
      ["discard_all", s.sleepLevel === 2],
    ] as const)
      t.sample("vllm:engine_sleep_state", { ...L, sleep_state: state }, on ? 1 : 0);
    gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", s.sim.kvUsage());
    counter(
      "vllm:prefix_cache_queries",
      "Prefix cache queries, in terms of number of queried tokens.",
      c.prefixQueries,
    );
    counter(
      "vllm:prefix_cache_hits",
      "Prefix cache hits, in terms of number of cached tokens.",
      c.prefixHits,
    );
    counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.", c.preemptions);
    counter("vllm:prompt_tokens", "Number of prefill tokens processed.", c.promptTokens);
    counter("vllm:generation_tokens", "Number of generation tokens processed.", c.generationTokens);
    t.family("vllm:request_success_total", "counter", "Count of successfully processed requests.");
    for (const reason of ["stop", "length", "abort"] as const)
      t.sample("vllm:request_success_total", { ...L, finished_reason: reason }, success[reason]);
    hist("vllm:request_prompt_tokens", "Number of prefill tokens processed.", h.promptTokens);
    hist("vllm:request_generation_tokens", "Number of generation tokens processed.", h.generationTokens);
    // The real engine breaks the naming rule here: a histogram whose name ends in _total (promtool lints it).
    hist("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", h.iterationTokens);
    hist(
      "vllm:request_max_num_generation_tokens",
      "Histogram of maximum number of requested generation tokens.",
      h.maxGenTokens,
    );
    hist("vllm:request_params_n", "Histogram of the n request parameter.", h.paramsN);
    hist(
      "vllm:request_params_max_tokens",
      "Histogram of the max_tokens request parameter.",
      h.paramsMaxTokens,
    );
    hist("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", h.ttft);
    hist("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", h.itl);
    hist(
      "vllm:request_time_per_output_token_seconds",
      "Histogram of time_per_output_token_seconds per request.",
      h.tpot,
    );
    hist("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", h.e2e);
    hist("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", h.queue);
    hist(
      "vllm:request_inference_time_seconds",
      "Histogram of time spent in RUNNING phase for request.",
      h.inference,
    );
    hist(
      "vllm:request_prefill_time_seconds",
      "Histogram of time spent in PREFILL phase for request.",
      h.prefill,
    );
    hist(
      "vllm:request_decode_time_seconds",
      "Histogram of time spent in DECODE phase for request.",
      h.decode,
    );
    t.family("vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig");
    t.sample(
      "vllm:cache_config_info",
      {
        block_size: String(BLOCK_SIZE),
        cache_dtype: "auto",
        calculate_kv_scales: "False",
        cpu_offload_gb: "0",
        enable_prefix_caching: "True",
        engine: "0",
        gpu_memory_utilization: "0.9",
        is_attention_free: "False",
        num_cpu_blocks: "None",
        num_gpu_blocks: String(NUM_GPU_BLOCKS),
        num_gpu_blocks_override: "None",
        prefix_caching_hash_algo: "sha256",
        sliding_window: "None",
        swap_space: "4",
        swap_space_bytes: "4294967296",
      },
      1,
    );
    return t.toString();
  };
}

export const vllm: Personality = {
  engine: "vllm",
  // The HTTP app only starts serving after engine init: no answer at all while the model loads.
  silentWhileStarting: true,
  metricsPath: "/metrics",
  metricsContentType: PROM_TEXT_004,
  healthPaths: ["/health", "/ping"],
  loraRoutes: [
    {
      method: "POST",
      path: /^\/v1\/load_lora_adapter$/,
      kind: "load",
      name: (b) => field(b, "lora_name"),
    },
    {
      method: "POST",
      path: /^\/v1\/unload_lora_adapter$/,
      kind: "unload",
      name: (b) => field(b, "lora_name"),
    },
  ],
  mount(app, s) {
    app.get("/health", () => empty());
    app.on(["GET", "POST"], "/ping", () => empty());
    app.get("/version", () => json({ version: VLLM_VERSION }));
    app.get("/load", () => json({ server_load: s.sim.running.length + s.sim.waiting.length }));
    app.get("/v1/models", () => json(modelCards(s)));
    if (truthy(s.opts.env.VLLM_ALLOW_RUNTIME_LORA_UPDATING)) mountLora(app, s);
    if (truthy(s.opts.env.VLLM_SERVER_DEV_MODE)) mountDev(app, s);
    mountInference(app, s);
  },
  createMetrics,
  metricsDisabled: () => json({ detail: "Not Found" }, 404),
  // AuthenticationMiddleware checks only paths starting with /v1 (OPTIONS excepted).
  authorize(c, s) {
    if (!s.opts.apiKey || c.req.method === "OPTIONS" || !c.req.path.startsWith("/v1")) return null;
    return c.req.header("authorization") === `Bearer ${s.opts.apiKey}`
      ? null
      : json({ error: "Unauthorized" }, 401);
  },
  // EngineDeadError: 503 with an empty body.
  unhealthy: () => empty(503),
  errorResponse: (status, message) => vllmError(status, message, "InternalServerError"),
  notFound: () => json({ detail: "Not Found" }, 404),
};
