// llama.cpp `llama-server` personality (reference/ENGINES.md §3, §11.3).
// Adapters are fixed at startup (--lora); at runtime only their scales change (POST /lora-adapters).
import { PromText, plainNum } from "../prom.ts";
import type { EngineState, Personality } from "../types.ts";
import { bearer, json, nowS } from "./common.ts";

const N_CTX = 8192;

/** llama.cpp error JSON: {"error":{"code","message","type"}}. */
export const llamaError = (status: number, message: string, type: string) =>
  json({ error: { code: status, message, type } }, status);

/** Paths llama-server answers without an API key (server.cpp `public_endpoints`). */
const PUBLIC = new Set(["/health", "/v1/health", "/models", "/v1/models", "/api/tags"]);

function createMetrics(s: EngineState): () => string {
  const c = {
    prompt: 0,
    promptSeconds: 0,
    predicted: 0,
    predictedSeconds: 0,
    decodes: 0,
    busySlots: 0,
    nTokensMax: 0,
  };
  let promptTps = 0;
  let predictedTps = 0;
  s.sim.onStep((st) => {
    // llama.cpp counts only prompt tokens it actually evaluated (cache hits are skipped).
    const evaluated = st.tokens - st.generatedTokens;
    c.prompt += evaluated;
    c.predicted += st.generatedTokens;
    if (evaluated > 0) c.promptSeconds += 0.02;
    if (st.generatedTokens > 0) c.predictedSeconds += 0.08;
    if (st.tokens > 0) {
      c.decodes++;
      c.busySlots += s.sim.running.length;
    }
    c.nTokensMax = Math.max(c.nTokensMax, st.tokens);
    promptTps = evaluated > 0 ? evaluated / 0.02 : promptTps;
    predictedTps = st.generatedTokens > 0 ? st.generatedTokens / 0.08 : predictedTps;
  });
  return () => {
    // Unlabelled samples, HELP and TYPE on every family, numbers printed plainly.
    const t = new PromText(plainNum);
    const one = (name: string, type: "counter" | "gauge", help: string, v: number) =>
      t.family(`llamacpp:${name}`, type, help).sample(`llamacpp:${name}`, {}, v);
    one("prompt_tokens_total", "counter", "Number of prompt tokens processed.", c.prompt);
    one("prompt_seconds_total", "counter", "Prompt process time", c.promptSeconds);
    one("tokens_predicted_total", "counter", "Number of generation tokens processed.", c.predicted);
    one("tokens_predicted_seconds_total", "counter", "Predict process time", c.predictedSeconds);
    one("n_decode_total", "counter", "Total number of llama_decode() calls", c.decodes);
    // The real server declares these two as counters although one is an average and one a high watermark.
    one(
      "n_busy_slots_per_decode",
      "counter",
      "Average number of busy slots per llama_decode() call",
      c.decodes ? c.busySlots / c.decodes : 0,
    );
    one("n_tokens_max", "counter", "Largest observed n_tokens.", c.nTokensMax);
    one("prompt_tokens_seconds", "gauge", "Average prompt throughput in tokens/s.", promptTps);
    one("predicted_tokens_seconds", "gauge", "Average generation throughput in tokens/s.", predictedTps);
    one("requests_processing", "gauge", "Number of requests processing.", s.sim.running.length);
    one("requests_deferred", "gauge", "Number of requests deferred.", s.sim.waiting.length);
    return t.toString();
  };
}

function adapterList(s: EngineState, scales: number[]) {
  return [...s.adapters.values()].map((path, id) => ({ id, path, scale: scales[id] ?? 1 }));
}

export const llamacpp: Personality = {
  engine: "llamacpp",
  // The HTTP listener starts before the model loads: /health says 503 "Loading model" until then.
  silentWhileStarting: false,
  metricsPath: "/metrics",
  metricsContentType: "text/plain; version=0.0.4",
  metricsHeaders: (s) => ({ "Process-Start-Time-Unix": String(Math.floor(s.startedAtMs / 1000)) }),
  healthPaths: ["/health", "/v1/health"],
  loraRoutes: [],
  mount(app, s) {
    const scales: number[] = [];
    const loading = () => llamaError(503, "Loading model", "unavailable_error");
    const health = () => (s.isReady() ? json({ status: "ok" }) : loading());
    app.get("/health", health);
    app.get("/v1/health", health);
    app.use("*", async (_c, next) => (s.isReady() ? next() : loading()));
    const models = () =>
      json({
        object: "list",
        data: [
          {
            id: s.opts.model,
            object: "model",
            created: nowS(),
            owned_by: "llamacpp",
            meta: {
              vocab_type: 2,
              n_vocab: 128256,
              n_ctx_train: 131072,
              n_embd: 4096,
              n_params: 8030261248,
              size: 4920739232,
            },
          },
        ],
      });
    app.get("/v1/models", models);
    app.get("/models", models);
    app.get("/props", () =>
      json({
        default_generation_settings: { n_ctx: N_CTX, params: { lora: adapterList(s, scales) } },
        total_slots: 4,
        model_path: s.opts.model,
        modalities: { vision: false, audio: false },
        chat_template: "",
        bos_token: "<|begin_of_text|>",
        eos_token: "<|eot_id|>",
        build_info: "b6000-mock",
        is_sleeping: false,
      }),
    );
    app.get("/lora-adapters", () => json(adapterList(s, scales)));
    // Only rescales the adapters given at startup; adapters missing from the list get scale 0.
    app.post("/lora-adapters", async (c) => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return llamaError(400, "Invalid JSON body", "invalid_request_error");
      }
      if (!Array.isArray(body))
        return llamaError(400, "Request body must be an array", "invalid_request_error");
      const n = s.adapters.size;
      const next = new Array<number>(n).fill(0);
      for (const e of body as Array<{ id?: unknown; scale?: unknown }>) {
        const id = e?.id;
        if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= n)
          return llamaError(400, `invalid adapter id: ${JSON.stringify(id)}`, "invalid_request_error");
        next[id] = typeof e.scale === "number" ? e.scale : 0;
      }
      scales.splice(0, scales.length, ...next);
      return json({ success: true });
    });
  },
  createMetrics,
  metricsDisabled: () =>
    llamaError(
      501,
      "This server does not support metrics endpoint. Start it with `--metrics`",
      "not_supported_error",
    ),
  // /metrics is key-protected when a key is set; the public endpoints are not.
  authorize(c, s) {
    if (!s.opts.apiKey || c.req.method === "OPTIONS" || PUBLIC.has(c.req.path)) return null;
    return bearer(c) === s.opts.apiKey ? null : llamaError(401, "Invalid API Key", "authentication_error");
  },
  // llama-server has no "dead but answering" state of its own; the mock uses its 503 unavailable_error shape.
  unhealthy: () => llamaError(503, "Service Unavailable", "unavailable_error"),
  errorResponse: (status, message) => llamaError(status, message, "server_error"),
  notFound: () => llamaError(404, "File Not Found", "not_found_error"),
};
