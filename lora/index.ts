// The LoRA feature as one service: the adapter registry on disk, the manager (single-flight loads) and the
// self-healer. compose.ts builds it from settings and collaborators and mounts routes/lora.ts over it.
import type { Readiness } from "../engines/readiness.ts";
import type { EngineAdapter } from "../engines/types.ts";
import type { Logger } from "../log.ts";
import type { OwnMetrics } from "../metrics/own.ts";
import type { FetchToDir } from "../storage/types.ts";
import { startLoraHealer } from "./heal.ts";
import { createLoraManager, type LoraManager } from "./manager.ts";
import { loraMetrics } from "./metrics.ts";
import { openAdapterStore } from "./store.ts";

export interface LoraSettings {
  stateDir: string;
  adaptersDir: string;
  credentialsDir: string;
  allowedSources?: readonly string[];
  /** Engine calls and request waits both stay under the AIBrix controller's 30 s client timeout. */
  engineTimeoutMs: number;
  readyIntervalMs: number;
}

export interface LoraService {
  manager: LoraManager;
  stop(): void;
}

export async function createLoraService(
  s: LoraSettings,
  c: {
    engine: EngineAdapter;
    readiness: Readiness;
    fetchToDir: FetchToDir;
    log: Logger;
    metrics?: OwnMetrics;
  },
): Promise<LoraService> {
  const store = await openAdapterStore(s.stateDir, c.log);
  const manager = createLoraManager({
    engine: c.engine,
    store,
    fetchToDir: c.fetchToDir,
    adaptersDir: s.adaptersDir,
    credentialsDir: s.credentialsDir,
    allowedSources: s.allowedSources,
    engineTimeoutMs: s.engineTimeoutMs,
    // A little longer than one engine call, so a call's own deadline (504) is what the caller sees.
    waitMs: Math.min(s.engineTimeoutMs + 2000, 28_000),
    log: c.log,
    metrics: c.metrics ? loraMetrics(c.metrics, c.engine.kind) : undefined,
  });
  // The adapter check runs every 5 health probes (5 s by default): one GET of the engine's model list.
  const healer = startLoraHealer(manager, c.readiness, Math.max(5 * s.readyIntervalMs, 250), c.log);
  return {
    manager,
    stop() {
      healer.stop();
      manager.stop();
    },
  };
}
