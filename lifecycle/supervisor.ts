// Supervision (reference/AIBRIX-RUNTIME.md §6.1): every interval, each engine is checked. A live process
// whose /health answers 200 is `active`, live but not answering is `booting`; a dead one is restarted
// after min(base·2^(n-1), max) backoff, up to the restart budget, then `failed`. Sleeping and stopping
// engines are only checked for death. Health is probed outside the model lock; a model busy with a
// lifecycle call is skipped for this round.
import { engineHealthy } from "./activity.ts";
import type { EngineAdapter } from "../engines/types.ts";
import type { Instance, LifecycleCore } from "./core.ts";
import type { LifecycleManager } from "./manager.ts";
import { updateHbmPeaks } from "./views.ts";

const BOOT_PROBE_MS = 50;
const HEALTH_TIMEOUT_MS = 1000;
/** How often a round also samples the engines' accelerator memory (one nvidia-smi call) for the HBM peak. */
const HBM_SAMPLE_MS = 5000;

export interface SupervisorDeps {
  core: LifecycleCore;
  /** Restarts and death bookkeeping. */
  manager: Pick<LifecycleManager, "start" | "onEngineDeath">;
  engineFor(kind: string, baseUrl: string): EngineAdapter | null;
}

export interface Supervisor {
  /** Run one round now (tests, and right after an activation). */
  tick(): Promise<void>;
  /** An engine started booting: make sure the next round comes within the boot probe period. */
  kick(): void;
  stop(): void;
}

/** The engine kind's own health check (Triton: /v2/health/ready), else GET /health; 1 s deadline. */
async function healthy(d: SupervisorDeps, inst: Instance): Promise<boolean> {
  const adapter = d.engineFor(inst.rec.engine, `http://127.0.0.1:${inst.rec.port}`);
  if (!adapter) return engineHealthy(inst.rec.port, HEALTH_TIMEOUT_MS);
  try {
    return (await adapter.health(AbortSignal.timeout(HEALTH_TIMEOUT_MS))).healthy;
  } catch {
    return false;
  }
}

export async function superviseOnce(d: SupervisorDeps, inst: Instance): Promise<void> {
  const m = d.core;
  const model = inst.rec.model_name;
  if (m.isBusy(model)) return;
  const { pid, phase } = inst.rec;
  const alive = m.alive(inst);
  const probe = alive && (phase === "booting" || phase === "active") ? await healthy(d, inst) : null;
  await m.withModel(model, async () => {
    if (m.get(model) !== inst || m.isClosed) return;
    const rec = inst.rec;
    if (rec.pid !== pid || rec.phase !== phase) return; // something changed while we probed
    if (rec.phase === "failed" || rec.phase === "stopping") return;
    if (rec.pid === null) {
      if (
        rec.phase === "restarting" &&
        rec.next_restart_at !== null &&
        Date.now() / 1000 >= rec.next_restart_at
      ) {
        m.log.info("restarting engine", { model, attempt: rec.restart_count });
        await d.manager.start(inst);
      }
      return; // otherwise: weights still downloading, or waiting out the backoff
    }
    if (!m.alive(inst)) {
      m.log.warn("engine process exited", { model, pid: rec.pid });
      d.manager.onEngineDeath(inst);
      await m.persist();
      return;
    }
    if (probe === null) return;
    const next = probe ? "active" : "booting";
    if (next !== rec.phase) {
      m.setPhase(inst, next, probe ? null : undefined);
      await m.persist();
    }
  });
}

export function startSupervisor(
  d: SupervisorDeps,
  intervalMs: number,
  opts: { nvidiaSmi?: string } = {},
): Supervisor {
  const m = d.core;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | null = null;
  let stopped = false;
  let hbmSampledAt = 0;

  /** The HBM peak moves with the engines, not with who calls /v1/runtime/snapshot. */
  const sampleHbm = async () => {
    if (!opts.nvidiaSmi || Date.now() - hbmSampledAt < HBM_SAMPLE_MS) return;
    hbmSampledAt = Date.now();
    await updateHbmPeaks(m.all(), opts.nvidiaSmi, m.log).catch((e) =>
      m.log.debug("accelerator memory sample failed", { error: e }),
    );
  };

  const tick = (): Promise<void> => {
    if (running) return running;
    running = Promise.all(
      m
        .all()
        .map((inst) =>
          superviseOnce(d, inst).catch((e) =>
            m.log.error("supervisor round failed", { model: inst.rec.model_name, error: e }),
          ),
        ),
    )
      .then(sampleHbm)
      .finally(() => {
        running = null;
      });
    return running;
  };

  // Booting engines are probed more often than the interval, so a cold start is not rounded up to it.
  const nextDelay = () =>
    m.all().some((i) => i.rec.phase === "booting" || i.rec.phase === "restarting")
      ? Math.min(intervalMs, BOOT_PROBE_MS)
      : intervalMs;
  let dueAt = 0;
  const schedule = (ms: number) => {
    clearTimeout(timer);
    dueAt = Date.now() + ms;
    timer = setTimeout(loop, ms);
  };
  const loop = () => {
    if (stopped) return;
    dueAt = Number.POSITIVE_INFINITY;
    tick().finally(() => {
      if (!stopped) schedule(nextDelay());
    });
  };
  schedule(nextDelay());

  return {
    tick,
    kick() {
      // Bring the next round forward when an engine starts booting (never postpone one).
      if (!stopped && dueAt !== Number.POSITIVE_INFINITY && dueAt > Date.now() + BOOT_PROBE_MS)
        schedule(BOOT_PROBE_MS);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
