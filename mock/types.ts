// Shared types of the mock engine: options, faults, the per-engine personality contract.
import type { Context, Hono } from "hono";
import type { Simulation } from "./sim.ts";

export const MOCK_ENGINES = ["vllm", "sglang", "llamacpp", "tgi", "trtllm", "triton"] as const;
export type MockEngineName = (typeof MOCK_ENGINES)[number];

export interface Faults {
  /** Delay every metrics response by this many ms. */
  slowMetricsMs?: number;
  /** Fraction (0-1) of management calls (everything but health, metrics and /_mock) answered with a 5xx. */
  errorRate?: number;
  /** Drop every connection (except /_mock routes) without a complete HTTP response. */
  reset?: boolean;
  /** Serve syntactically broken Prometheus text. */
  malformedMetrics?: boolean;
  /** Never answer metrics requests (until the client gives up or the mock stops). */
  hangMetrics?: boolean;
  /** Health endpoints answer the engine's own "unhealthy" response (vLLM EngineDeadError 503, TGI 503 JSON...). */
  unhealthy?: boolean;
}

export interface MockOptions {
  engine: MockEngineName;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Triton's metrics port, and TGI's --prometheus-port (0 = free port). */
  metricsPort?: number;
  /** Served model name. */
  model?: string;
  apiKey?: string;
  maxLoras?: number;
  /** Until this many ms after start the engine is "loading" (each engine shows that its own way). */
  startupDelayMs?: number;
  seed?: number;
  faults?: Faults;
  /** Engine environment (VLLM_ALLOW_RUNTIME_LORA_UPDATING, VLLM_SERVER_DEV_MODE); both default to enabled. */
  env?: Record<string, string>;
  /** Prometheus endpoint enabled (vLLM always; SGLang --enable-metrics; llama.cpp --metrics). Default true. */
  metrics?: boolean;
  /** Wall ms per simulation step; 0 = advance one step per metrics scrape only (fully reproducible). */
  tickMs?: number;
  /** Peak simulated arrivals per second (a 120 s wave: queues form at the crest); 0 = idle. Default 4.5. */
  load?: number;
  /** LoRA support switched on (vLLM/SGLang --enable-lora). Default true. */
  enableLora?: boolean;
  /** Adapters present from start (vLLM --lora-modules, SGLang --lora-paths, llama.cpp --lora). */
  loras?: Record<string, string>;
  /** Triton --model-control-mode; load/unload work only in "explicit" (the mock's default). */
  modelControlMode?: "none" | "poll" | "explicit";
}

export interface CallCounts {
  load: number;
  unload: number;
}

/** Mutable engine state the personality routes read and write. */
export interface EngineState {
  readonly opts: Required<Omit<MockOptions, "apiKey" | "faults" | "host" | "port" | "metricsPort">> & {
    apiKey?: string;
  };
  /** Loaded adapters, name -> path, in load order. */
  readonly adapters: Map<string, string>;
  readonly calls: Map<string, CallCounts>;
  sim: Simulation;
  readonly startedAtMs: number;
  readyAtMs: number;
  /** 0 awake, 1 or 2 = vLLM sleep level (other engines use 1 for "memory released"). */
  sleepLevel: 0 | 1 | 2;
  isReady(): boolean;
  /** Bring the simulation up to date with the wall clock (no-op when tickMs = 0). */
  catchUp(): void;
  /** Wall-clock seconds, strictly increasing between calls (for vLLM's lora_requests_info values). */
  stamp(): number;
}

/** Where a LoRA (or model) load/unload call names its adapter, so shared middleware counts calls per name. */
export interface LoraRoute {
  method: "POST";
  path: RegExp;
  kind: keyof CallCounts;
  /** The adapter name from the parsed JSON body (undefined when absent), or from the path (Triton). */
  name(body: unknown, path: string): string | undefined;
}

export interface Personality {
  engine: MockEngineName;
  /** Real engines whose HTTP server only starts after the model loads (vLLM, TGI, trtllm): no answer at all. */
  silentWhileStarting: boolean;
  /** Prometheus path on the main port; null when metrics live elsewhere (Triton's own port). */
  metricsPath: string | null;
  /** Also serve /metrics on a second listener (TGI's --prometheus-port 9000); Triton's only listener for it. */
  metricsPortToo?: boolean;
  metricsContentType: string;
  /** Extra headers on the Prometheus response (llama.cpp: Process-Start-Time-Unix). */
  metricsHeaders?(s: EngineState): Record<string, string>;
  /** Health paths: never hit by the error-rate fault (it targets management calls). */
  healthPaths: readonly string[];
  loraRoutes: readonly LoraRoute[];
  /** Register the engine's routes. */
  mount(app: Hono, s: EngineState): void;
  /** Hook metric recorders to the simulation (once per start/restart); returns the exposition renderer. */
  createMetrics(s: EngineState): () => string;
  /** Answer for the metrics path when metrics are switched off (opts.metrics = false). */
  metricsDisabled(c: Context): Response;
  /** Answer a request the API key does not cover, or null when the path is not guarded / key is right. */
  authorize(c: Context, s: EngineState): Response | null;
  /** What a health path answers while the `unhealthy` fault is on. */
  unhealthy(path: string): Response;
  /** The engine's error body for an injected 5xx. */
  errorResponse(status: number, message: string): Response;
  notFound(c: Context): Response;
}
