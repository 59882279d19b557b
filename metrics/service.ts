// The metrics service: a per-instance registry (info, API requests, engine scrape health) and the poller
// over the engine endpoint(s). compose.ts builds it and mounts routes/metrics.ts over `poller` and `registries`.
import { baseModelIds, modelCards } from "../lib/model-list.ts";
import { periodic } from "../lib/periodic.ts";
import type { Config } from "../config.ts";
import type { EngineAdapter } from "../engines/types.ts";
import type { Logger } from "../log.ts";
import { fetchEngineVersion, reportsVersion } from "../engines/version.ts";
import { VERSION } from "../version.ts";
import { createOwnMetrics, type OwnMetrics, ownMetrics } from "./own.ts";
import { createMetricsPoller, type MetricsPoller } from "./poller.ts";
import type { LoraInfo } from "./snapshot.ts";

/** AIBrix's API latency buckets (seconds). */
export const API_LATENCY_BUCKETS = [0.1, 0.2, 0.5, 1, 2, 5] as const;

export type MetricsSettings = Pick<
  Config,
  | "engine"
  | "engineVersion"
  | "engineEndpoints"
  | "metricsPath"
  | "metricsMode"
  | "metricsIntervalMs"
  | "metricsMaxAgeMs"
  | "metricsStaleAfterMs"
  | "metricsMaxBytes"
  | "metricsMaxSeries"
  | "engineTimeoutMs"
>;

export interface MetricsService {
  /** The registries /metrics serves: this sidecar's, then the process-wide `ownMetrics`. */
  registries: OwnMetrics[];
  poller: MetricsPoller;
  /** Per request: aibrix:api_request_total / aibrix:api_request_latency (createApp's observe hook). */
  observe(method: string, endpoint: string, status: number, seconds: number): void;
  /** Adapters for aibrix:lora_requests_info on engines that do not report it (the LoRA manager's view). */
  setLoraInfo(fn: () => LoraInfo | undefined): void;
  stop(): void;
}

export function createMetricsService(
  config: MetricsSettings,
  engine: EngineAdapter,
  log: Logger,
): MetricsService {
  const own = createOwnMetrics();
  const info = own.gauge({
    name: "aibrix:info_info",
    help: "AIBrix Info",
    labelNames: ["engine", "engine_version", "version"],
  });
  let infoLabels = { engine: config.engine, engine_version: config.engineVersion, version: VERSION };
  info.set(infoLabels, 1);
  // engine_version: what the engine says (vLLM /version, SGLang /get_server_info, TGI /info) once it
  // answers; until then (and for engines that cannot tell) INFERENCE_ENGINE_VERSION or "unknown".
  // Asked right away, then after 0.5 s, 1 s, 2 s ... (30 s at most) until it answers.
  const versionAc = new AbortController();
  let wait = 250;
  const versionLoop = reportsVersion(config.engine)
    ? periodic(
        async () => {
          const v = await fetchEngineVersion(config.engine, engine.baseUrl, versionAc.signal).catch(
            () => null,
          );
          if (!v || versionAc.signal.aborted) return;
          versionLoop?.stop(); // assigned: the task has awaited
          info.remove(infoLabels);
          infoLabels = { ...infoLabels, engine_version: v };
          info.set(infoLabels, 1);
          log.info("engine version", { engine: config.engine, engine_version: v });
        },
        () => (wait = Math.min(wait * 2, 30_000)),
        { immediate: true, unref: true },
      )
    : undefined;
  const requests = own.counter({
    name: "aibrix:api_request_total",
    help: "Count of AIBrix API Requests by method, endpoint and status",
    labelNames: ["method", "endpoint", "status"],
  });
  const latency = own.histogram({
    name: "aibrix:api_request_latency",
    help: "Latency of AIBrix API Requests by method, endpoint and status",
    labelNames: ["method", "endpoint", "status"],
    buckets: API_LATENCY_BUCKETS,
  });

  let loraInfo: (() => LoraInfo | undefined) | undefined;
  const registries = [own, ownMetrics];
  for (const r of registries) r.setLogger(log.child({ component: "metrics" }));
  const poller = createMetricsPoller({
    endpoints: config.engineEndpoints,
    path: config.metricsPath ?? engine.metricsPath,
    mode: config.metricsMode,
    rules: engine.rules,
    intervalMs: config.metricsIntervalMs,
    maxAgeMs: config.metricsMaxAgeMs,
    staleAfterMs: config.metricsStaleAfterMs,
    maxBytes: config.metricsMaxBytes,
    maxSeries: config.metricsMaxSeries,
    timeoutMs: Math.min(Math.max(config.metricsIntervalMs, 1000), config.engineTimeoutMs),
    own,
    reserved: () => new Set(registries.flatMap((r) => r.names())),
    loraInfo: () => loraInfo?.(),
    resolveModelName: async (signal) => firstModelId(await engine.listModels({ signal })),
    log: log.child({ component: "metrics" }),
  });
  poller.start();

  return {
    registries,
    poller,
    observe(method, endpoint, status, seconds) {
      const labels = { method, endpoint, status: String(status) };
      requests.inc(labels);
      latency.observe(labels, seconds);
    },
    setLoraInfo(fn) {
      loraInfo = fn;
    },
    stop: () => {
      versionAc.abort();
      versionLoop?.stop();
      poller.stop();
    },
  };
}

/** The base model, not a LoRA adapter (vLLM lists adapters with `parent` set); else the first entry. */
const firstModelId = (list: unknown): string | undefined => baseModelIds(list)[0] ?? modelCards(list)[0]?.id;
