// Builds the ModelClaim lifecycle from config: the core (state + locks), the launcher, the actions
// (sleep/wake/kv-limit for launched engines and the attached one), registry re-adoption, supervisor.
// On sidecar shutdown the engines keep running: in AIBrix they belong to the pod, and the next sidecar
// (after a crash, an upgrade or a SIGTERM) re-adopts them from the registry. Only deactivate stops one.
import { accessSync, constants } from "node:fs";
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { ENGINE_KINDS, type LifecycleConfig } from "../config.ts";
import type { EngineAdapter } from "../engines/types.ts";
import type { Logger } from "../log.ts";
import type { OwnMetrics } from "../metrics/own.ts";
import type { FetchToDir } from "../storage/types.ts";
import { parseTemplate } from "../lib/command-line.ts";
import { DEFAULT_TEMPLATES, MOCK_TEMPLATE } from "./command.ts";
import { createLifecycleActions, type LifecycleActions } from "./actions.ts";
import { LifecycleCore } from "./core.ts";
import { commandLimiter, type KvLimiter } from "./kv.ts";
import { LifecycleManager } from "./manager.ts";
import { registerLifecycleMetrics } from "./metrics.ts";
import { readopt } from "./readopt.ts";
import { createRegistry, type RegistryState } from "./registry.ts";
import { selfCommand } from "./self.ts";
import { startSupervisor, type Supervisor } from "./supervisor.ts";

export interface LifecycleDeps {
  log: Logger;
  env: Record<string, string | undefined>;
  /** Where remote weights are downloaded (DOWNLOADER_LOCAL_DIR). */
  downloadDir: string;
  /** Engine logs directory. */
  logDir: string;
  fetchToDir?: FetchToDir;
  /** AIRUNTIME_ALLOWED_SOURCES: a local artifact_url must pass it too (remote ones pass it in the downloader). */
  allowedSources?: readonly string[];
  metrics?: OwnMetrics;
  engineFor(kind: string, baseUrl: string): EngineAdapter | null;
  /** The engine the sidecar is attached to: sleep/wake of the models it serves go through the same actions. */
  attached?: EngineAdapter;
  /** Deadline of one sleep/wake engine call. */
  engineTimeoutMs?: number;
  nvidiaSmi?: string;
}

export interface Lifecycle {
  core: LifecycleCore;
  manager: LifecycleManager;
  actions: LifecycleActions;
  supervisor: Supervisor;
  /** Weights paths of launched engines (a model download must not delete them). */
  modelPaths(): string[];
  nvidiaSmi: string;
  weightCacheDir: string;
  /** Stop supervising; the engines keep running (see the file comment). */
  stop(): void;
}

function onPath(bin: string, env: Record<string, string | undefined>): boolean {
  return (env.PATH ?? "").split(":").some((dir) => {
    try {
      accessSync(join(dir || ".", bin), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function templatesFor(c: LifecycleConfig): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const base: Record<string, string> = c.mock
    ? Object.fromEntries(ENGINE_KINDS.filter((k) => k !== "generic").map((k) => [k, MOCK_TEMPLATE]))
    : DEFAULT_TEMPLATES;
  for (const [k, t] of Object.entries({ ...base, ...c.commands })) if (t) out[k] = parseTemplate(t);
  return out;
}

function kvLimiterFor(
  c: LifecycleConfig,
  env: Record<string, string | undefined>,
  log: Logger,
): KvLimiter | null {
  if (c.kvctlCommand) return commandLimiter(c.kvctlCommand);
  if (c.mock)
    return async (ipc, bytes) => {
      log.info("mock kv limit", { ipc_name: ipc, limit_bytes: bytes });
    };
  if (onPath("kvctl", env)) return commandLimiter("kvctl limit {ipc_name} {limit_bytes}");
  return null;
}

/** The registry as it is on disk; an unreadable one is moved aside (never overwritten) and we start empty. */
async function loadRegistry(path: string, log: Logger): Promise<RegistryState> {
  try {
    return await createRegistry(path, () => ({ engines: [], operations: {} })).load();
  } catch (e) {
    const aside = `${path}.unreadable-${Date.now()}`;
    const moved = await rename(path, aside).then(
      () => aside,
      () => null,
    );
    log.error("engine registry unreadable; starting with no engines", { path, moved_to: moved, error: e });
    return { engines: [], operations: {} };
  }
}

export async function startLifecycle(c: LifecycleConfig, d: LifecycleDeps): Promise<Lifecycle> {
  const log = d.log;
  const state = await loadRegistry(c.registryPath, log);
  const metrics = d.metrics
    ? registerLifecycleMetrics(
        d.metrics,
        () =>
          core.all().map((i) => ({
            model: i.rec.model_name,
            phase: i.rec.phase,
            ipcName: i.rec.ipc_name,
            hbmPeak: i.hbmPeak,
          })),
        log,
      )
    : undefined;
  const core: LifecycleCore = new LifecycleCore(c.registryPath, log, metrics, state.operations);
  const manager = new LifecycleManager(core, {
    logDir: d.logDir,
    downloadDir: d.downloadDir,
    portRange: c.portRange,
    templates: templatesFor(c),
    self: selfCommand(),
    maxRestarts: c.maxRestarts,
    backoffBaseMs: c.restartBackoffMs,
    backoffMaxMs: c.restartBackoffMaxMs,
    stopGraceMs: c.stopGraceMs,
    env: d.env,
    fetchToDir: d.fetchToDir,
    allowedSources: d.allowedSources,
    weightCacheDir: c.weightCacheDir,
  });
  const actions = createLifecycleActions({
    core,
    engineFor: d.engineFor,
    kvLimiter: kvLimiterFor(c, d.env, log),
    attached: d.attached,
    engineTimeoutMs: d.engineTimeoutMs ?? 10_000,
  });
  const counts = await readopt(core, manager, state.engines);
  if (state.engines.length > 0) log.info("engine registry re-adopted", { path: c.registryPath, ...counts });
  const supervisor = startSupervisor({ core, manager, engineFor: d.engineFor }, c.supervisorIntervalMs, {
    nvidiaSmi: d.nvidiaSmi ?? "nvidia-smi",
  });
  manager.onExit = () => void supervisor.tick().then(() => supervisor.tick());
  core.onBoot = () => supervisor.kick();
  return {
    core,
    manager,
    actions,
    supervisor,
    modelPaths: () => core.all().flatMap((i) => (i.rec.model_path ? [i.rec.model_path] : [])),
    nvidiaSmi: d.nvidiaSmi ?? "nvidia-smi",
    weightCacheDir: c.weightCacheDir,
    stop() {
      supervisor.stop();
      core.close();
    },
  };
}
