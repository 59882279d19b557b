// Triton Inference Server personality with the TensorRT-LLM backend (reference/ENGINES.md §6, §11.6).
// KServe v2 health and repository routes; metrics on a second port (8002) with `model`/`version` labels,
// latency counters in microseconds. Load/unload work only with --model-control-mode=explicit.
import { PromText, plainNum } from "../prom.ts";
import type { EngineState, Personality } from "../types.ts";
import { empty, json } from "./common.ts";

export const TRITON_VERSION = "2.59.0";
const MAX_BLOCKS = 2048;
const TOKENS_PER_BLOCK = 64;

const tritonError = (status: number, message: string) => json({ error: message }, status);

/** Models in the repository: the served model plus anything loaded by name (tracked in `adapters`). */
const repoModels = (s: EngineState) => [s.opts.model, ...s.adapters.keys()];

function createMetrics(s: EngineState): () => string {
  const c = {
    success: 0,
    failure: 0,
    count: 0,
    exec: 0,
    requestUs: 0,
    queueUs: 0,
    inputUs: 0,
    inferUs: 0,
    outputUs: 0,
  };
  s.sim.onStep((st) => {
    if (st.tokens > 0) c.exec++;
    for (const f of st.finished) {
      if (f.reason === "abort") c.failure++;
      else c.success++;
      c.count++;
      c.requestUs += Math.round(f.e2eS * 1e6);
      c.queueUs += Math.round(f.queueS * 1e6);
      c.inputUs += 150;
      c.inferUs += Math.round(f.inferenceS * 1e6);
      c.outputUs += 90;
    }
  });
  return () => {
    const L = { model: s.opts.model, version: "1" };
    const t = new PromText(plainNum);
    const one = (
      name: string,
      type: "counter" | "gauge",
      help: string,
      v: number,
      labels: Record<string, string> = L,
    ) => t.family(name, type, help).sample(name, labels, v);
    // Triton's counters carry no `_total` suffix and its latency counters are in µs: the real format, kept.
    one(
      "nv_inference_request_success",
      "counter",
      "Number of successful inference requests, all batch sizes",
      c.success,
    );
    t.family(
      "nv_inference_request_failure",
      "counter",
      "Number of failed inference requests, all batch sizes",
    );
    for (const reason of ["REJECTED", "CANCELED", "BACKEND", "OTHER"])
      t.sample("nv_inference_request_failure", { ...L, reason }, reason === "CANCELED" ? c.failure : 0);
    one(
      "nv_inference_count",
      "counter",
      "Number of inferences performed (does not include cached requests)",
      c.count,
    );
    one(
      "nv_inference_exec_count",
      "counter",
      "Number of model executions performed (does not include cached requests)",
      c.exec,
    );
    one(
      "nv_inference_request_duration_us",
      "counter",
      "Cumulative inference request duration in microseconds (includes cached requests)",
      c.requestUs,
    );
    one(
      "nv_inference_queue_duration_us",
      "counter",
      "Cumulative inference queuing duration in microseconds (includes cached requests)",
      c.queueUs,
    );
    one(
      "nv_inference_compute_input_duration_us",
      "counter",
      "Cumulative compute input duration in microseconds (does not include cached requests)",
      c.inputUs,
    );
    one(
      "nv_inference_compute_infer_duration_us",
      "counter",
      "Cumulative compute inference duration in microseconds (does not include cached requests)",
      c.inferUs,
    );
    one(
      "nv_inference_compute_output_duration_us",
      "counter",
      "Cumulative inference compute output duration in microseconds (does not include cached requests)",
      c.outputUs,
    );
    one(
      "nv_inference_pending_request_count",
      "gauge",
      "Instantaneous number of pending requests awaiting execution per-model.",
      s.sim.waiting.length,
    );
    const used = Math.min(MAX_BLOCKS, Math.ceil(s.sim.kvUsedTokens() / TOKENS_PER_BLOCK));
    t.family("nv_trt_llm_request_metrics", "gauge", "TRT LLM request metrics");
    for (const [type, v] of [
      ["active", s.sim.running.length],
      ["max", 64],
      ["scheduled", s.sim.running.length],
      ["context", 0],
      ["waiting", s.sim.waiting.length],
    ] as const)
      t.sample("nv_trt_llm_request_metrics", { model: "tensorrt_llm", request_type: type, version: "1" }, v);
    t.family("nv_trt_llm_kv_cache_block_metrics", "gauge", "TRT LLM KV cache block metrics");
    for (const [type, v] of [
      ["max", MAX_BLOCKS],
      ["free", MAX_BLOCKS - used],
      ["used", used],
      ["tokens_per", TOKENS_PER_BLOCK],
      ["fraction", used / MAX_BLOCKS],
    ] as const)
      t.sample(
        "nv_trt_llm_kv_cache_block_metrics",
        { kv_cache_block_type: type, model: "tensorrt_llm", version: "1" },
        v,
      );
    t.family("nv_trt_llm_general_metrics", "gauge", "General TRT LLM metrics");
    t.sample(
      "nv_trt_llm_general_metrics",
      { general_type: "iteration_counter", model: "tensorrt_llm", version: "1" },
      s.sim.steps,
    );
    t.sample(
      "nv_trt_llm_general_metrics",
      { general_type: "timestamp", model: "tensorrt_llm", version: "1" },
      Math.floor(Date.now() * 1000),
    );
    const gpu = { gpu_uuid: "GPU-00000000-mock-0000-0000-000000000000" };
    one(
      "nv_gpu_utilization",
      "gauge",
      "GPU utilization rate [0.0 - 1.0)",
      s.sim.running.length > 0 ? 0.9 : 0,
      gpu,
    );
    one("nv_gpu_memory_total_bytes", "gauge", "GPU total memory, in bytes", 85_899_345_920, gpu);
    one("nv_gpu_memory_used_bytes", "gauge", "GPU used memory, in bytes", 60_000_000_000, gpu);
    return t.toString();
  };
}

export const triton: Personality = {
  engine: "triton",
  silentWhileStarting: false,
  // Metrics are served on the second port only.
  metricsPath: null,
  metricsContentType: "text/plain; charset=utf-8",
  healthPaths: ["/v2/health/live", "/v2/health/ready"],
  loraRoutes: [
    {
      method: "POST",
      path: /^\/v2\/repository\/models\/[^/]+\/load$/,
      kind: "load",
      name: (_b, p) => decodeURIComponent(p.split("/")[4]!),
    },
    {
      method: "POST",
      path: /^\/v2\/repository\/models\/[^/]+\/unload(\/cascading)?$/,
      kind: "unload",
      name: (_b, p) => decodeURIComponent(p.split("/")[4]!),
    },
  ],
  mount(app, s) {
    // Live as soon as the server runs; ready (200) once the models loaded, 400 before (as Triton answers).
    app.get("/v2/health/live", () => empty());
    app.get("/v2/health/ready", () => (s.isReady() ? empty() : empty(400)));
    app.get("/v2", () =>
      json({
        name: "triton",
        version: TRITON_VERSION,
        extensions: [
          "classification",
          "sequence",
          "model_repository",
          "model_repository(unload_dependents)",
          "schedule_policy",
          "model_configuration",
          "system_shared_memory",
          "cuda_shared_memory",
          "binary_tensor_data",
          "parameters",
          "statistics",
          "trace",
          "logging",
        ],
      }),
    );
    const known = (name: string) => s.isReady() && repoModels(s).includes(name);
    app.get("/v2/models/:name/ready", (c) => (known(c.req.param("name")) ? empty() : empty(400)));
    app.get("/v2/models/:name/versions/:v/ready", (c) => (known(c.req.param("name")) ? empty() : empty(400)));
    app.get("/v2/models/:name", (c) => {
      const name = c.req.param("name");
      if (!known(name)) return tritonError(400, `Request for unknown model: '${name}' is not found`);
      return json({
        name,
        versions: ["1"],
        platform: "tensorrt_llm",
        inputs: [{ name: "input_ids", datatype: "INT32", shape: [-1, -1] }],
        outputs: [{ name: "output_ids", datatype: "INT32", shape: [-1, -1, -1] }],
      });
    });
    app.post("/v2/repository/index", () =>
      json(s.isReady() ? repoModels(s).map((name) => ({ name, version: "1", state: "READY" })) : []),
    );
    const control = () =>
      s.opts.modelControlMode === "explicit"
        ? null
        : tritonError(
            400,
            s.opts.modelControlMode === "poll"
              ? "explicit model load / unload is not allowed if polling is enabled"
              : "explicit model load / unload is not allowed in the current model control mode",
          );
    app.post("/v2/repository/models/:name/load", (c) => {
      const denied = control();
      if (denied) return denied;
      const name = c.req.param("name");
      // A reload of a loaded model swaps it in place; the mock just keeps it.
      if (name !== s.opts.model) s.adapters.set(name, name);
      return empty();
    });
    const unload = (c: import("hono").Context) => {
      const denied = control();
      if (denied) return denied;
      const name = c.req.param("name")!;
      if (!repoModels(s).includes(name))
        return tritonError(400, `failed to unload '${name}', no version is available`);
      s.adapters.delete(name);
      return empty();
    };
    app.post("/v2/repository/models/:name/unload", unload);
    app.post("/v2/repository/models/:name/unload/cascading", unload);
  },
  createMetrics,
  metricsDisabled: () => empty(404),
  authorize: () => null,
  // Triton answers a false live/ready with 400 and no body.
  unhealthy: () => empty(400),
  errorResponse: (status, message) => tritonError(status, message),
  notFound: () => tritonError(404, "Not Found"),
};
