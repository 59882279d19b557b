// Wiring of the LoRA area, kept out of compose.ts so that file stays a short list of areas.
import type { Area } from "../app.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { OwnMetrics } from "../metrics/own.ts";
import { loraRoutes, loraSpecs } from "../routes/lora.ts";
import { makeFetchToDir } from "../storage/download.ts";
import type { FetchToDir } from "../storage/types.ts";
import { createLoraManager, type LoraManager } from "./lora.ts";
import { startLoraHealer } from "./lora-heal.ts";
import { loraMetrics } from "./lora-metrics.ts";
import { openAdapterStore } from "./lora-store.ts";
import type { Readiness } from "./readiness.ts";
import type { EngineAdapter } from "./types.ts";

export interface LoraParts {
  lora: LoraManager;
  areas: Area[];
  stop(): void;
}

export async function composeLora(o: {
  config: Config;
  engine: EngineAdapter;
  readiness: Readiness;
  log: Logger;
  fetchToDir?: FetchToDir;
  metrics?: OwnMetrics;
}): Promise<LoraParts> {
  const { config, engine, readiness } = o;
  const log = o.log.child({ component: "lora" });
  const store = await openAdapterStore(config.stateDir, log);
  // Engine calls and request waits both stay under the AIBrix controller's 30 s client timeout.
  const engineTimeoutMs = Math.min(config.engineTimeoutMs, 25_000);
  const lora = createLoraManager({
    engine,
    store,
    fetchToDir:
      o.fetchToDir ?? makeFetchToDir({ settings: config, log: log.child({ component: "lora-download" }) }),
    adaptersDir: config.adaptersDir,
    credentialsDir: config.credentialsDir,
    allowedSources: config.downloader.allowedSources,
    engineTimeoutMs,
    // A little longer than one engine call, so a call's own deadline (504) is what the caller sees.
    waitMs: Math.min(engineTimeoutMs + 2000, 28_000),
    log,
    metrics: o.metrics ? loraMetrics(o.metrics, engine.kind) : undefined,
  });
  // The adapter check runs every 5 health probes (5 s by default): one GET of the engine's model list.
  const healer = startLoraHealer(lora, readiness, Math.max(5 * config.readyIntervalMs, 250), log);
  return {
    lora,
    areas: [{ app: loraRoutes(lora, engine), specs: loraSpecs }],
    stop() {
      healer.stop();
      lora.stop();
    },
  };
}
