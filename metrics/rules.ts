// The standardized `aibrix:*` families, as data: one concept per row, one source description per engine
// (reference/ENGINES.md §8, §8.1, §9). rulesFor(kind) turns a column into the rules the pipeline applies;
// conceptTable() prints the same data as the table in docs/metrics.md, so docs and code cannot drift.
import type { EngineKind } from "../config.ts";
import type { Aggregation, Labels, MetricRule, MetricType, RuleSet, SourceRef } from "./types.ts";

/** The per-engine part of a rule (the target, help, type and aggregation come from the concept). */
type EngineSource = Omit<MetricRule, "target" | "help" | "aggregate" | "type">;

interface Concept {
  target: string;
  help: string;
  type?: MetricType;
  aggregate?: Aggregation;
  engines: Partial<Record<EngineKind, EngineSource>>;
}

const src = (family: string, match?: Labels): SourceRef => (match ? { family, match } : { family });
const copy = (...families: Array<string | SourceRef>): EngineSource => ({
  kind: "copy",
  sources: families.map((f) => (typeof f === "string" ? src(f) : f)),
});
const converted = (divideBy: number, family: string): EngineSource => ({
  kind: "copy",
  sources: [src(family)],
  divideBy,
});
const fromLabel = (family: string, label: string): EngineSource => ({
  kind: "label",
  sources: [src(family)],
  label,
});
const tritonTrt = (family: string, key: string, value: string): EngineSource => ({
  kind: "copy",
  sources: [src(family, { [key]: value })],
  dropLabels: [key],
});

/** vLLM's LoRA family under the aibrix prefix; synthesized from the adapter registry for other engines. */
export const LORA_INFO = "aibrix:lora_requests_info";

export const CONCEPTS: readonly Concept[] = [
  {
    target: "aibrix:num_requests_running",
    help: "Requests currently running in the engine's batches.",
    type: "gauge",
    engines: {
      vllm: copy("vllm:num_requests_running"),
      sglang: copy("sglang:num_running_reqs"),
      llamacpp: copy("llamacpp:requests_processing"),
      tgi: copy("tgi_batch_current_size"),
      trtllm: copy("trtllm_num_requests_running"),
      triton: tritonTrt("nv_trt_llm_request_metrics", "request_type", "scheduled"),
    },
  },
  {
    target: "aibrix:queue_size",
    help: "Requests waiting to be scheduled.",
    type: "gauge",
    engines: {
      vllm: copy("vllm:num_requests_waiting"),
      sglang: copy("sglang:num_queue_reqs"),
      llamacpp: copy("llamacpp:requests_deferred"),
      tgi: copy("tgi_queue_size"),
      trtllm: copy("trtllm_num_requests_waiting"),
      triton: {
        kind: "copy",
        sources: [
          src("nv_trt_llm_request_metrics", { request_type: "waiting" }),
          src("nv_inference_pending_request_count"),
        ],
        dropLabels: ["request_type"],
      },
    },
  },
  {
    target: "aibrix:kv_cache_usage_perc",
    help: "KV-cache usage as a fraction in [0, 1] (1 means 100 percent), despite the name.",
    type: "gauge",
    aggregate: "mean",
    engines: {
      vllm: copy("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
      sglang: copy("sglang:token_usage"),
      llamacpp: copy("llamacpp:kv_cache_usage_ratio"),
      // Upper bound: the token budget of the current batch over the KV capacity (TGI has no usage metric).
      tgi: {
        kind: "ratio",
        sources: [src("tgi_batch_current_max_tokens")],
        denominator: src("tgi_batch_max_total_tokens"),
      },
      trtllm: copy("trtllm_kv_cache_utilization"),
      triton: tritonTrt("nv_trt_llm_kv_cache_block_metrics", "kv_cache_block_type", "fraction"),
    },
  },
  {
    target: "aibrix:gpu_cache_usage_perc",
    help: "Deprecated vLLM name of the KV-cache usage fraction (vLLM <= 0.9), kept for AIBrix dashboards.",
    type: "gauge",
    aggregate: "mean",
    engines: { vllm: copy("vllm:gpu_cache_usage_perc") },
  },
  {
    target: "aibrix:prefix_cache_hits_total",
    help: "Prefix-cache hits (vLLM, SGLang: tokens; trtllm-serve: blocks).",
    type: "counter",
    engines: {
      vllm: copy("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"),
      sglang: {
        kind: "copy",
        sources: [
          src("sglang:cached_tokens_total", { cache_source: "total" }),
          src("sglang:cached_tokens_total"),
        ],
        dropLabels: ["cache_source"],
      },
      trtllm: copy("trtllm_kv_cache_reused_blocks_total"),
    },
  },
  {
    target: "aibrix:prefix_cache_queries_total",
    help: "Prefix-cache lookups (vLLM, SGLang: prompt tokens; trtllm-serve: reused + missed blocks).",
    type: "counter",
    engines: {
      vllm: copy("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"),
      sglang: copy("sglang:prompt_tokens_total"),
      trtllm: {
        kind: "sum",
        sources: [src("trtllm_kv_cache_reused_blocks_total"), src("trtllm_kv_cache_missed_blocks_total")],
      },
    },
  },
  {
    target: "aibrix:prompt_tokens_total",
    help: "Prompt (prefill) tokens processed. llama.cpp counts only tokens actually evaluated.",
    type: "counter",
    engines: {
      vllm: copy("vllm:prompt_tokens_total"),
      sglang: copy("sglang:prompt_tokens_total"),
      llamacpp: copy("llamacpp:prompt_tokens_total"),
      tgi: { kind: "fromSum", sources: [src("tgi_request_input_length")] },
      trtllm: copy("trtllm_prompt_tokens_total"),
    },
  },
  {
    target: "aibrix:generation_tokens_total",
    help: "Generated (output) tokens.",
    type: "counter",
    engines: {
      vllm: copy("vllm:generation_tokens_total"),
      sglang: copy("sglang:generation_tokens_total"),
      llamacpp: copy("llamacpp:tokens_predicted_total"),
      tgi: { kind: "fromSum", sources: [src("tgi_request_generated_tokens")] },
      trtllm: copy("trtllm_generation_tokens_total"),
    },
  },
  {
    target: "aibrix:request_success_total",
    help: "Finished requests (vLLM and trtllm-serve split them by finished_reason, aborts included).",
    type: "counter",
    engines: {
      vllm: copy("vllm:request_success_total"),
      sglang: copy("sglang:num_requests_total"),
      tgi: copy("tgi_request_success"),
      trtllm: copy("trtllm_request_success_total"),
      triton: copy("nv_inference_request_success"),
    },
  },
  {
    target: "aibrix:time_to_first_token_seconds",
    help: "Time to first token, seconds.",
    type: "histogram",
    engines: {
      vllm: copy("vllm:time_to_first_token_seconds"),
      sglang: copy("sglang:time_to_first_token_seconds"),
      trtllm: copy("trtllm_time_to_first_token_seconds"),
      triton: converted(1000, "nv_inference_first_response_histogram_ms"),
    },
  },
  {
    target: "aibrix:inter_token_latency_seconds",
    help: "Inter-token latency, seconds, one observation per output token.",
    type: "histogram",
    engines: {
      vllm: copy("vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"),
      sglang: copy("sglang:inter_token_latency_seconds", "sglang:time_per_output_token_seconds"),
    },
  },
  {
    target: "aibrix:time_per_output_token_seconds",
    help: "Mean time per output token of each request, seconds, one observation per request.",
    type: "histogram",
    engines: {
      vllm: copy("vllm:request_time_per_output_token_seconds", "vllm:time_per_output_token_seconds"),
      tgi: copy("tgi_request_mean_time_per_token_duration"),
      trtllm: copy("trtllm_time_per_output_token_seconds"),
    },
  },
  {
    target: "aibrix:avg_time_per_output_token_seconds",
    help: "Average time per output token over the engine's recent window, seconds (1 / tokens per second).",
    type: "gauge",
    aggregate: "mean",
    engines: { llamacpp: { kind: "invert", sources: [src("llamacpp:predicted_tokens_seconds")] } },
  },
  {
    target: "aibrix:e2e_request_latency_seconds",
    help: "End-to-end request latency, seconds.",
    type: "histogram",
    engines: {
      vllm: copy("vllm:e2e_request_latency_seconds"),
      sglang: copy("sglang:e2e_request_latency_seconds"),
      tgi: copy("tgi_request_duration"),
      trtllm: copy("trtllm_e2e_request_latency_seconds"),
    },
  },
  {
    target: "aibrix:request_duration_seconds_total",
    help: "Cumulative request duration, seconds (Triton's microsecond counter converted).",
    type: "counter",
    engines: { triton: converted(1e6, "nv_inference_request_duration_us") },
  },
  {
    target: "aibrix:request_queue_duration_seconds_total",
    help: "Cumulative time requests spent queued, seconds (Triton's microsecond counter converted).",
    type: "counter",
    engines: { triton: converted(1e6, "nv_inference_queue_duration_us") },
  },
  {
    target: "aibrix:kv_cache_block_size",
    help: "Tokens per KV-cache block (page).",
    type: "gauge",
    aggregate: "max",
    engines: {
      vllm: fromLabel("vllm:cache_config_info", "block_size"),
      sglang: fromLabel("sglang:cache_config_info", "page_size"),
      trtllm: copy("trtllm_kv_cache_tokens_per_block"),
      triton: tritonTrt("nv_trt_llm_kv_cache_block_metrics", "kv_cache_block_type", "tokens_per"),
    },
  },
  {
    target: "aibrix:kv_cache_num_blocks",
    help: "KV-cache blocks (pages) in GPU memory.",
    type: "gauge",
    engines: {
      vllm: fromLabel("vllm:cache_config_info", "num_gpu_blocks"),
      sglang: fromLabel("sglang:cache_config_info", "num_pages"),
      trtllm: copy("trtllm_kv_cache_max_blocks"),
      triton: tritonTrt("nv_trt_llm_kv_cache_block_metrics", "kv_cache_block_type", "max"),
    },
  },
  {
    target: "aibrix:generation_throughput",
    help: "Generation throughput, tokens per second (SGLang's gauge, kept from AIBrix).",
    type: "gauge",
    engines: { sglang: copy("sglang:gen_throughput") },
  },
  {
    target: "aibrix:cache_hit_rate",
    help: "Prefix-cache hit rate of the last prefill batch, 0-1 (SGLang's gauge, kept from AIBrix).",
    type: "gauge",
    aggregate: "mean",
    engines: { sglang: copy("sglang:cache_hit_rate") },
  },
  {
    target: "aibrix:token_usage",
    help: "KV token usage fraction 0-1 (SGLang's gauge, kept from AIBrix).",
    type: "gauge",
    aggregate: "mean",
    engines: { sglang: copy("sglang:token_usage") },
  },
  {
    target: "aibrix:kv_cache_hit_rate",
    help: "KV-cache hit rate 0-1 (trtllm-serve's gauge, kept from AIBrix).",
    type: "gauge",
    aggregate: "mean",
    engines: { trtllm: copy("trtllm_kv_cache_hit_rate") },
  },
  {
    target: LORA_INFO,
    help: "LoRA adapters: max_lora, running and waiting adapters; value = Unix time of the last update.",
    type: "gauge",
    aggregate: "max",
    engines: { vllm: { kind: "copy", sources: [src("vllm:lora_requests_info")], noModelName: true } },
  },
];

/** Engine label holding the served model's name, where it is not `model_name`. */
const MODEL_LABEL: Partial<Record<EngineKind, string>> = { triton: "model" };

/** Where an engine without its own lora_requests_info tells its LoRA capacity (SGLang: --max-loras-per-batch). */
const LORA_CAPACITY: Partial<Record<EngineKind, SourceRef>> = { sglang: src("sglang:lora_pool_slots_total") };

/** The rules for one engine ("generic": none, metrics pass through raw). */
export function rulesFor(kind: EngineKind): RuleSet {
  const rules: MetricRule[] = [];
  for (const c of CONCEPTS) {
    const e = c.engines[kind];
    if (!e) continue;
    rules.push({ ...e, target: c.target, help: c.help, type: c.type, aggregate: c.aggregate });
  }
  return { rules, modelLabel: MODEL_LABEL[kind], loraCapacity: LORA_CAPACITY[kind] };
}

const COLUMNS: ReadonlyArray<[EngineKind, string]> = [
  ["vllm", "vLLM"],
  ["sglang", "SGLang"],
  ["llamacpp", "llama.cpp"],
  ["tgi", "TGI"],
  ["trtllm", "trtllm-serve"],
  ["triton", "Triton (+TRT-LLM)"],
];

function describe(e: EngineSource | undefined): string {
  if (!e) return "—";
  const ref = (s: SourceRef) =>
    "`" +
    s.family +
    (s.match
      ? `{${Object.entries(s.match)
          .map(([k, v]) => `${k}="${v}"`)
          .join(",")}}`
      : "") +
    "`";
  const refs = e.sources.map(ref);
  switch (e.kind) {
    case "copy":
      return (
        refs.join(" or ") +
        (e.divideBy
          ? ` ÷ ${e.divideBy} (${e.divideBy === 1000 ? "ms" : "µs"} → s${e.divideBy === 1000 ? ", `le` bounds too" : ""})`
          : "")
      );
    case "invert":
      return `1 / ${refs[0]}`;
    case "fromSum":
      return `${refs[0]?.slice(0, -1)}_sum\``;
    case "fromCount":
      return `${refs[0]?.slice(0, -1)}_count\``;
    case "label":
      return `${refs[0]} label \`${e.label}\``;
    case "ratio":
      return `${refs[0]} / ${ref(e.denominator!)}`;
    case "sum":
      return refs.join(" + ");
  }
}

/** The concept × engine table in Markdown (docs/metrics.md). */
export function conceptTable(): string {
  const head = `| aibrix family | type | ${COLUMNS.map(([, n]) => n).join(" | ")} |`;
  const sep = `|${"---|".repeat(COLUMNS.length + 2)}`;
  const rows = CONCEPTS.map(
    (c) =>
      `| \`${c.target}\` | ${c.type ?? ""} | ${COLUMNS.map(([k]) => describe(c.engines[k])).join(" | ")} |`,
  );
  return [head, sep, ...rows].join("\n");
}
