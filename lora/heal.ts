// Self-healing: when the engine comes back (health down then up) or an adapter the sidecar loaded is
// missing from the engine's own list, load it again without being asked.
import type { Logger } from "../log.ts";
import type { LoraManager } from "./manager.ts";
import type { Readiness } from "../engines/readiness.ts";

export function startLoraHealer(
  lora: LoraManager,
  readiness: Readiness,
  intervalMs: number,
  log: Logger,
): { stop(): void } {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  readiness.onChange((h) => {
    if (!h.healthy || stopped) return;
    log.info("engine is up: checking adapters", { adapters: lora.loadedNames().length });
    void lora.reconcile("engine became ready", true);
  });
  const tick = () => {
    if (stopped) return;
    const run = readiness.current().healthy ? lora.reconcile("periodic check") : Promise.resolve();
    run.finally(() => {
      if (!stopped) timer = setTimeout(tick, intervalMs);
    });
  };
  timer = setTimeout(tick, intervalMs);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
