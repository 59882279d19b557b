// THE composition root: builds every service from a Config (engine adapter, readiness, downloads,
// lifecycle, LoRA, metrics) and mounts every route over them. The only module that imports routes/ and
// app.ts; feature folders export factories and never see a route. stop() tears down in reverse order.
import type { Hono } from "hono";
import { type Area, createApp } from "./app.ts";
import { type Config, configSecrets, ENGINE_KINDS, type EngineKind } from "./config.ts";
import { type Readiness, startReadiness } from "./engines/readiness.ts";
import { createEngineAdapter } from "./engines/adapters.ts";
import type { EngineAdapter } from "./engines/types.ts";
import { startLifecycle } from "./lifecycle/index.ts";
import type { Logger } from "./log.ts";
import { createLoraService } from "./lora/index.ts";
import { createMetricsService } from "./metrics/service.ts";
import { ownMetrics } from "./metrics/own.ts";
import { environment } from "./platform/process.ts";
import { registerSecret } from "./redact.ts";
import { engineRoutes, engineSpecs } from "./routes/engine.ts";
import { healthRoutes, healthSpecs } from "./routes/health.ts";
import { lifecycleRoutes, lifecycleSpecs } from "./routes/lifecycle.ts";
import { loraRoutes, loraSpecs } from "./routes/lora.ts";
import { metricsRoutes, metricsSpecs } from "./routes/metrics.ts";
import { modelRoutes, modelSpecs } from "./routes/models.ts";
import { createDownloadJobs } from "./storage/jobs.ts";
import { securityGuards } from "./security/guards.ts";
import { makeFetchToDir } from "./storage/download.ts";

export interface Sidecar {
  app: Hono;
  engine: EngineAdapter;
  readiness: Readiness;
  /** Abort background work and release resources (reverse order of start). */
  stop(): Promise<void>;
}

export async function composeSidecar(config: Config, log: Logger): Promise<Sidecar> {
  for (const s of configSecrets(config)) registerSecret(s); // the settings the schema marks secret
  const closers: Array<() => void | Promise<void>> = [];
  const engine = createEngineAdapter(config.engine, {
    baseUrl: config.engineEndpoints[0]!,
    timeoutMs: config.engineTimeoutMs,
    metricsPath: config.metricsPath,
  });
  const readiness = startReadiness(engine, config.readyIntervalMs, log.child({ component: "readiness" }));
  closers.push(() => readiness.stop());

  const areas: Area[] = [
    { app: healthRoutes(readiness), specs: healthSpecs },
    { app: engineRoutes(engine), specs: engineSpecs },
  ];

  // Weights of engines this sidecar launched (set once the lifecycle has started; DELETE refuses them).
  let launchedModelPaths: () => string[] = () => [];
  // Engine calls and request waits both stay under the AIBrix controller's 30 s client timeout.
  const engineCallMs = Math.min(config.engineTimeoutMs, 25_000);
  // LoRA and lifecycle downloads run with the same settings as the API's (Config.downloader.tuning).
  const fetchToDir = (l: Logger) =>
    makeFetchToDir({ settings: config, tuning: config.downloader.tuning, log: l });
  // Model downloads (storage/): /v1/model/download|list|status, DELETE /v1/model/{name}.
  const downloads = createDownloadJobs(config, {
    log: log.child({ component: "models" }),
    engine,
    pathsInUse: () => launchedModelPaths(),
  });
  closers.push(() => downloads.stop());
  areas.push({ app: modelRoutes(downloads), specs: modelSpecs });

  // ModelClaim engine lifecycle (lifecycle/), with sleep/wake for launched engines and the attached one.
  // Sidecar stop() leaves launched engines running: they belong to the pod and the next sidecar re-adopts
  // them.
  const lifecycle = await startLifecycle(config.lifecycle, {
    log: log.child({ component: "lifecycle" }),
    env: environment(),
    downloadDir: config.downloader.localDir,
    logDir: `${config.stateDir}/engine-logs`,
    metrics: ownMetrics,
    fetchToDir: fetchToDir(log.child({ component: "lifecycle-download" })),
    allowedSources: config.downloader.allowedSources,
    engineFor: (kind, baseUrl) =>
      (ENGINE_KINDS as readonly string[]).includes(kind)
        ? createEngineAdapter(kind as EngineKind, { baseUrl, timeoutMs: engineCallMs })
        : null,
    attached: engine,
    engineTimeoutMs: engineCallMs,
  });
  closers.push(() => lifecycle.stop());
  launchedModelPaths = lifecycle.modelPaths;
  readiness.onChange((h) => {
    if (h.healthy) lifecycle.actions.attachedRestarted();
  });
  areas.push({
    app: lifecycleRoutes(lifecycle, log.child({ component: "lifecycle" })),
    specs: lifecycleSpecs,
  });

  // LoRA adapters (load/unload/list, self-healing), with the same engine call deadline.
  const loraLog = log.child({ component: "lora" });
  const lora = await createLoraService(
    {
      stateDir: config.stateDir,
      adaptersDir: config.adaptersDir,
      credentialsDir: config.credentialsDir,
      allowedSources: config.downloader.allowedSources,
      engineTimeoutMs: engineCallMs,
      readyIntervalMs: config.readyIntervalMs,
    },
    {
      engine,
      readiness,
      log: loraLog,
      metrics: ownMetrics,
      fetchToDir: fetchToDir(loraLog.child({ component: "lora-download" })),
    },
  );
  closers.push(() => lora.stop());
  areas.push({ app: loraRoutes(lora.manager, engine), specs: loraSpecs });

  // Metrics: the engine polled on a timer, standardized aibrix:* families, own metrics.
  const metrics = createMetricsService(config, engine, log);
  closers.push(() => metrics.stop());
  metrics.setLoraInfo(() => lora.manager.loraInfo());
  areas.push({
    app: metricsRoutes({ poller: metrics.poller, own: metrics.registries }),
    specs: metricsSpecs,
  });

  const app = createApp({ log, areas, guards: await securityGuards(config), observe: metrics.observe });
  return {
    app,
    engine,
    readiness,
    async stop() {
      for (const close of closers.reverse()) await close();
    },
  };
}
