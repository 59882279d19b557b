// Background readiness: the engine's own health is probed on a timer and cached, so /ready never waits
// on the engine (AIBrix never probes at all, its bug B15).
import { periodic } from "../lib/periodic.ts";
import type { Logger } from "../log.ts";
import type { EngineAdapter, EngineHealth } from "./types.ts";

export interface Readiness {
  current(): EngineHealth & { checkedAt: number };
  /** Resolves once the next probe has completed (tests and start-up use it). */
  refresh(): Promise<EngineHealth>;
  /** Called on every transition (down->up, up->down); used by LoRA self-healing. */
  onChange(fn: (h: EngineHealth) => void): void;
  stop(): void;
}

export function startReadiness(engine: EngineAdapter, intervalMs: number, log: Logger): Readiness {
  let state: EngineHealth & { checkedAt: number } = {
    healthy: false,
    reason: "engine not probed yet",
    checkedAt: 0,
  };
  const listeners: Array<(h: EngineHealth) => void> = [];
  const ac = new AbortController();
  let inflight: Promise<EngineHealth> | null = null;

  const probe = (): Promise<EngineHealth> => {
    if (inflight) return inflight;
    inflight = engine
      .health(ac.signal)
      .then((h) => {
        const changed = h.healthy !== state.healthy || state.checkedAt === 0;
        state = { ...h, checkedAt: Date.now() };
        if (changed) {
          log.info(h.healthy ? "engine became ready" : "engine not ready", {
            engine: engine.kind,
            reason: h.reason,
          });
          for (const fn of listeners) fn(h);
        }
        return h;
      })
      .finally(() => {
        inflight = null;
      });
    return inflight;
  };

  const loop = periodic(probe, intervalMs, { immediate: true });

  return {
    current: () => state,
    refresh: probe,
    onChange: (fn) => {
      listeners.push(fn);
    },
    stop: () => {
      ac.abort();
      loop.stop();
    },
  };
}
