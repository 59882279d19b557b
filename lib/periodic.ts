// A periodic task: run, wait, run again, until stopped. The next run is scheduled only after the current
// one has settled (never two at once); `delayMs` gets the run's duration, so a fixed rate is
// `(took) => interval - took`. A run that throws is passed to `onError` and the loop goes on.
export interface Periodic {
  stop(): void;
}

export function periodic(
  task: () => Promise<unknown>,
  delayMs: number | ((tookMs: number) => number),
  o: { immediate?: boolean; unref?: boolean; onError?: (e: unknown) => void; now?: () => number } = {},
): Periodic {
  const now = o.now ?? Date.now;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const next = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(run, Math.max(0, ms));
    if (o.unref) (timer as { unref?: () => void }).unref?.();
  };
  const run = () => {
    if (stopped) return;
    const started = now();
    const settled = () => next(typeof delayMs === "number" ? delayMs : delayMs(now() - started));
    task().then(settled, (e) => {
      o.onError?.(e);
      settled();
    });
  };
  if (o.immediate) run();
  else next(typeof delayMs === "number" ? delayMs : delayMs(0));
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
