// HuggingFace TGI personality (reference/ENGINES.md §4, §11.4): router/src/server.rs, metrics-exporter-prometheus.
// No runtime LoRA, no model_name label, counters exposed exactly as named (no `_total`).
import { Histogram, PromText, plainNum } from "../prom.ts";
import type { EngineState, Personality } from "../types.ts";
import { bearer, empty, json } from "./common.ts";

export const TGI_VERSION = "3.3.6";
const MAX_INPUT = 4095;
const MAX_TOTAL = 4096;

/** Routes TGI guards with --api-key (inference only); the info routes are never authenticated. */
const GUARDED = new Set([
  "/",
  "/generate",
  "/generate_stream",
  "/v1/chat/completions",
  "/v1/completions",
  "/invocations",
  "/tokenize",
]);

/** Every histogram whose name ends in `duration`: 0.0001 x 1.5^n for n = 1..35. */
const DURATION = Array.from({ length: 35 }, (_, i) => 0.0001 * 1.5 ** (i + 1));
const linear = (max: number) => Array.from({ length: 100 }, (_, i) => Math.round(((i + 1) * max) / 100));

function createMetrics(s: EngineState): () => string {
  const h = {
    duration: new Histogram(DURATION),
    validation: new Histogram(DURATION),
    queue: new Histogram(DURATION),
    inference: new Histogram(DURATION),
    tpot: new Histogram(DURATION),
    input: new Histogram(linear(MAX_INPUT)),
    generated: new Histogram(linear(MAX_TOTAL)),
    maxNew: new Histogram(linear(MAX_TOTAL)),
    nextSize: new Histogram(Array.from({ length: 11 }, (_, i) => 2 ** i)),
    forward: { prefill: new Histogram(DURATION), decode: new Histogram(DURATION) },
  };
  const c = { count: 0, success: 0, failure: 0, prefill: 0, decode: 0 };
  s.sim.onStep((st) => {
    c.count = s.sim.arrived;
    if (st.promptTokens > 0) {
      c.prefill++;
      h.forward.prefill.observe(0.02 + st.promptTokens / 50_000);
      h.nextSize.observe(s.sim.running.length);
    }
    if (st.generatedTokens > 0) {
      c.decode++;
      h.forward.decode.observe(0.015 + s.sim.running.length / 5_000);
    }
    for (const f of st.finished) {
      if (f.reason === "abort") c.failure++;
      else c.success++;
      h.duration.observe(f.e2eS);
      h.validation.observe(0.0003);
      h.queue.observe(f.queueS);
      h.inference.observe(f.inferenceS);
      h.tpot.observe(f.tpotS);
      h.input.observe(f.req.promptTokens);
      h.generated.observe(f.req.generated);
      h.maxNew.observe(f.req.maxTokens);
    }
  });
  return () => {
    // The Rust exporter prints integers without ".0"; HELP appears only for described metrics.
    const t = new PromText(plainNum);
    const head = (name: string, type: string, help?: string) => {
      if (help) t.raw(`# HELP ${name} ${help}`);
      t.raw(`# TYPE ${name} ${type}`);
    };
    const one = (
      name: string,
      type: "counter" | "gauge",
      help: string | undefined,
      v: number,
      labels = {},
    ) => {
      head(name, type, help);
      t.sample(name, labels, v);
    };
    const hist = (name: string, help: string, x: Histogram) => {
      head(name, "histogram", help);
      t.histogram(name, {}, x);
    };
    one("tgi_request_count", "counter", "Total number of requests", c.count);
    one("tgi_request_success", "counter", "Number of successful requests", c.success);
    one("tgi_request_failure", "counter", "Number of failed requests", c.failure, { err: "generation" });
    one("tgi_queue_size", "gauge", "Current queue size", s.sim.waiting.length);
    one("tgi_batch_current_size", "gauge", "Current batch size", s.sim.running.length);
    one(
      "tgi_batch_current_max_tokens",
      "gauge",
      "Maximum tokens for the current batch",
      s.sim.kvUsedTokens(),
    );
    // Described as tgi_batch_total_tokens but set under this name, so the real output has no HELP for it.
    one("tgi_batch_max_total_tokens", "gauge", undefined, 2048 * 16);
    head("tgi_batch_inference_count", "counter", "Inference calls per method (prefill or decode)");
    t.sample("tgi_batch_inference_count", { method: "prefill" }, c.prefill);
    t.sample("tgi_batch_inference_count", { method: "decode" }, c.decode);
    head(
      "tgi_batch_inference_success",
      "counter",
      "Number of successful inference calls per method (prefill or decode)",
    );
    t.sample("tgi_batch_inference_success", { method: "prefill" }, c.prefill);
    t.sample("tgi_batch_inference_success", { method: "decode" }, c.decode);
    hist("tgi_request_duration", "Request duration", h.duration);
    hist("tgi_request_validation_duration", "Request validation duration", h.validation);
    hist("tgi_request_queue_duration", "Request queue duration", h.queue);
    hist("tgi_request_inference_duration", "Request inference duration", h.inference);
    hist("tgi_request_mean_time_per_token_duration", "Mean time per token per request", h.tpot);
    hist("tgi_request_input_length", "Input token length per request", h.input);
    hist("tgi_request_generated_tokens", "Generated tokens per request", h.generated);
    hist("tgi_request_max_new_tokens", "Maximum new tokens per request", h.maxNew);
    hist("tgi_batch_next_size", "Batch size of the next batch", h.nextSize);
    // [R] A histogram with no configured buckets renders as a summary (the exporter's default quantiles).
    // No speculative decoding here, so every observation is 0.
    head("tgi_request_skipped_tokens", "summary", "Speculated tokens per request");
    for (const q of ["0", "0.5", "0.9", "0.95", "0.99", "0.999", "1"])
      t.sample("tgi_request_skipped_tokens", { quantile: q }, 0);
    t.sample("tgi_request_skipped_tokens_sum", {}, 0);
    t.sample("tgi_request_skipped_tokens_count", {}, c.success);
    head("tgi_batch_forward_duration", "histogram", "Batch forward duration per method (prefill or decode)");
    t.histogram("tgi_batch_forward_duration", { method: "prefill" }, h.forward.prefill);
    t.histogram("tgi_batch_forward_duration", { method: "decode" }, h.forward.decode);
    return t.toString();
  };
}

export const tgi: Personality = {
  engine: "tgi",
  // The launcher starts the router only after the shards loaded the model: nothing listens until then.
  silentWhileStarting: true,
  metricsPath: "/metrics",
  metricsPortToo: true,
  metricsContentType: "text/plain; charset=utf-8",
  healthPaths: ["/health", "/ping"],
  loraRoutes: [],
  mount(app, s) {
    app.get("/health", () => empty());
    app.get("/ping", () => empty());
    app.get("/info", () =>
      json({
        model_id: s.opts.model,
        model_sha: "0e9e39f249a16976918f6564b8830bc894c89659",
        model_pipeline_tag: "text-generation",
        max_concurrent_requests: 128,
        max_best_of: 2,
        max_stop_sequences: 4,
        max_input_tokens: MAX_INPUT,
        max_total_tokens: MAX_TOTAL,
        validation_workers: 2,
        max_client_batch_size: 4,
        router: "text-generation-router",
        version: TGI_VERSION,
        sha: null,
        docker_label: null,
      }),
    );
    app.get("/v1/models", () =>
      json({
        object: "list",
        data: [{ id: s.opts.model, object: "model", created: 0, owned_by: s.opts.model }],
      }),
    );
  },
  createMetrics,
  metricsDisabled: () => empty(404),
  authorize(c, s) {
    if (!s.opts.apiKey || !GUARDED.has(c.req.path) || (c.req.path === "/" && c.req.method === "GET"))
      return null;
    return bearer(c) === s.opts.apiKey ? null : empty(401);
  },
  unhealthy: () => json({ error: "unhealthy", error_type: "healthcheck" }, 503),
  errorResponse: (status, message) => json({ error: message, error_type: "generation" }, status),
  notFound: () => empty(404),
};
