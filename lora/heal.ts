// Self-healing: when the engine comes back (health down then up) or an adapter the sidecar loaded is
// missing from the engine's own list, load it again without being asked.
import { periodic } from "../lib/periodic.ts";
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
  readiness.onChange((h) => {
    if (!h.healthy || stopped) return;
    log.info("engine is up: checking adapters", { adapters: lora.loadedNames().length });
    void lora.reconcile("engine became ready", true);
  });
  const loop = periodic(
    () => (readiness.current().healthy ? lora.reconcile("periodic check") : Promise.resolve()),
    intervalMs,
    { onError: (e) => log.warn("adapter check failed", { error: e }) },
  );
  return {
    stop() {
      stopped = true;
      loop.stop();
    },
  };
}
