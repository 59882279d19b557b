// Progress of one download: counters plus a rate smoothed over recent samples and an ETA.
import type { DownloadProgress } from "./types.ts";

export interface ProgressTracker {
  setTotals(files: number, bytes: number): void;
  setPhase(p: DownloadProgress["phase"]): void;
  addBytes(n: number): void;
  /** Bytes already on disk from an earlier run (resumed parts, files kept). */
  addResumed(n: number): void;
  fileDone(): void;
  snapshot(): DownloadProgress;
  /** Bytes actually fetched from the source in this run (not counting resumed/skipped ones). */
  fetched(): number;
  stop(): void;
}

export function createProgress(onTick: (p: DownloadProgress) => void, intervalMs = 1000): ProgressTracker {
  const s: DownloadProgress = {
    phase: "planning",
    files_done: 0,
    files_total: 0,
    bytes_done: 0,
    bytes_total: 0,
    rate: 0,
    eta: null,
  };
  let fetched = 0;
  let lastBytes = 0;
  let lastAt = performance.now();
  const tick = () => {
    const now = performance.now();
    const dt = (now - lastAt) / 1000;
    if (dt > 0) {
      const inst = (fetched - lastBytes) / dt;
      s.rate = s.rate === 0 ? inst : 0.5 * s.rate + 0.5 * inst;
    }
    lastAt = now;
    lastBytes = fetched;
    const left = s.bytes_total - s.bytes_done;
    s.eta = s.phase === "done" ? 0 : s.rate > 0 ? Math.round(left / s.rate) : null;
    onTick({ ...s });
  };
  const timer = setInterval(tick, intervalMs);
  (timer as { unref?: () => void }).unref?.();
  return {
    setTotals(files, bytes) {
      s.files_total = files;
      s.bytes_total = bytes;
    },
    setPhase(p) {
      s.phase = p;
      tick();
    },
    addBytes(n) {
      s.bytes_done += n;
      fetched += n;
    },
    addResumed(n) {
      s.bytes_done += n;
    },
    fileDone() {
      s.files_done++;
    },
    snapshot: () => ({ ...s }),
    fetched: () => fetched,
    stop() {
      clearInterval(timer);
    },
  };
}

/** For logs: report a progress tick when 10 s passed, 5 % more is done, or the phase changed. */
export function progressGate(
  everyMs = 10_000,
  everyFraction = 0.05,
  now: () => number = () => performance.now(),
): (p: DownloadProgress) => boolean {
  let lastAt = Number.NEGATIVE_INFINITY;
  let lastFrac = Number.NEGATIVE_INFINITY;
  let lastPhase = "";
  return (p) => {
    const frac = p.bytes_total > 0 ? p.bytes_done / p.bytes_total : 0;
    const t = now();
    if (p.phase === lastPhase && t - lastAt < everyMs && frac - lastFrac < everyFraction - 1e-9) return false;
    lastAt = t;
    lastFrac = frac;
    lastPhase = p.phase;
    return true;
  };
}
