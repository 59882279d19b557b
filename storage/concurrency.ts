// How many connections a transfer uses. Two phases:
// - ramp: short windows (100 ms, after one tick for the new connections to open); the count doubles while
//   each doubling nearly doubles the throughput (`rampGain`), as on a store that caps every connection (S3
//   ~90 MB/s, a CDN, a throttled mirror). A doubling that scaled almost linearly (`rampJump`) is followed by
//   a quadrupling, judged against `rampGain` squared: 4 -> 8 -> 32 -> 64 in about 0.45 s instead of four
//   doublings in 0.7 s. A quadrupling that falls short is taken back to the doubling in between, which is
//   then judged as a doubling. The first doubling that does not pay ends the ramp (undone if it did not
//   gain `gain` either).
// - steady: long windows (1 s); one more doubling is tried now and then (after `backoffWindows` windows) and
//   kept only if throughput grows by `gain`, so a link that speeds up later is still found.
// A link where the CPU or the disk is the limit (loopback, a fast NIC on a small node) stays low, because
// more connections there only cost CPU (measured on 2 cores: 8 connections use ~1 CPU-s more per 2 GiB than
// 2-4). While the process keeps every core of its CPU budget busy no step is tried at all.

export interface TunerOptions {
  /** The ceiling (DOWNLOADER_NUM_THREADS when set, else the automatic ceiling). */
  max: number;
  /** Connections to start with (at most `max`). */
  start: number;
  /** Length of one measurement window once the ramp is over. */
  windowMs: number;
  /** Length of one measurement window during the ramp. */
  rampWindowMs: number;
  /** A ramp step is followed by the next while throughput grows by at least this factor per doubling. */
  rampGain: number;
  /** A doubling that raised throughput by at least this factor is followed by a quadrupling. */
  rampJump: number;
  /** A step is kept when throughput grows by at least this factor (1.15 = 15 %). */
  gain: number;
  /** After a step that did not pay, wait this many windows before trying again. */
  backoffWindows: number;
}

export const DEFAULT_TUNER: Omit<TunerOptions, "max"> = {
  start: 4,
  windowMs: 1000,
  rampWindowMs: 100,
  rampGain: 1.5,
  rampJump: 1.8,
  gain: 1.15,
  backoffWindows: 10,
};

export class ConcurrencyTuner {
  /** Connections the scheduler may run now. */
  limit: number;
  /** True until the first doubling that does not (nearly) double throughput. */
  ramping = true;
  private windowStart = -1;
  private windowBytes = 0;
  /** Throughput at the limit before the step being tried (null: not trying a step). */
  private before: number | null = null;
  private previousLimit = 0;
  /** The step being tried multiplied the limit by this (2, or 4 after a near-linear doubling). */
  private factor = 2;
  private wait = 0;
  /** Watchdog ticks in the current window, and those in which the CPU was the limit. */
  private ticks = 0;
  private cpuBusyTicks = 0;
  /** The first full window has passed. */
  private warm = false;
  /** The limit just changed: the next tick (new connections opening) is left out of the window. */
  private settling = false;

  constructor(private readonly o: TunerOptions) {
    this.limit = Math.max(1, Math.min(o.max, o.start));
  }

  /** Feed progress: `bytes` arrived since the last call; `busy` = work was waiting for a connection the whole
   *  time (a window where the queue ran dry says nothing about the link and is discarded); `cpuBusy` = the
   *  process used (nearly) every core since the last call, so more connections cannot help. */
  observe(now: number, bytes: number, busy: boolean, cpuBusy = false): void {
    if (this.windowStart < 0 || !busy || this.settling) {
      this.settling = false;
      this.windowStart = now;
      this.windowBytes = 0;
      this.cpuBusyTicks = this.ticks = 0;
      return;
    }
    this.windowBytes += bytes;
    this.ticks++;
    if (cpuBusy) this.cpuBusyTicks++;
    if (now - this.windowStart < (this.ramping ? this.o.rampWindowMs : this.o.windowMs)) return;
    const rate = this.windowBytes / (now - this.windowStart);
    const saturated = this.cpuBusyTicks * 2 > this.ticks;
    this.windowStart = now;
    this.windowBytes = 0;
    this.cpuBusyTicks = this.ticks = 0;
    // The first full window holds connection set-up and slow start: too low a baseline to judge a step by.
    if (!this.warm) {
      this.warm = true;
      return;
    }
    this.decide(rate, saturated);
  }

  private decide(rate: number, saturated: boolean): void {
    if (this.before !== null) {
      const before = this.before;
      const factor = this.factor;
      this.before = null;
      if (this.ramping && !saturated && factor > 2 && rate < before * this.o.rampGain ** 2) {
        // The quadrupling fell short: judge the doubling in between against the same baseline.
        this.limit = Math.min(this.o.max, this.previousLimit * 2);
        this.before = before;
        this.factor = 2;
        this.settling = true;
        return;
      }
      if (this.ramping && rate >= before * this.o.rampGain ** (factor / 2) && !saturated) {
        this.step(rate, factor === 2 && rate >= before * this.o.rampJump ? 4 : 2);
        return;
      }
      this.ramping = false;
      if (rate < before * this.o.gain) {
        this.limit = this.previousLimit; // the step did not pay: go back, try again later
        this.settling = true;
        this.wait = this.o.backoffWindows;
        return;
      }
      // A kept step is tried further at once (the next window measures the doubled limit against this one).
    } else if (this.wait > 0) {
      this.wait--;
      return;
    }
    if (saturated) {
      this.ramping = false;
      return; // no step while the CPU is the limit
    }
    this.step(rate);
  }

  private step(rate: number, factor = 2): void {
    if (this.limit >= this.o.max) {
      this.ramping = false;
      return;
    }
    this.before = rate;
    this.previousLimit = this.limit;
    this.limit = Math.min(this.o.max, this.limit * factor);
    // Capped by the maximum, a quadrupling may be a doubling (or less): judged as what it is.
    this.factor = this.limit >= this.previousLimit * 4 ? 4 : 2;
    this.settling = true;
  }
}
