// How many connections a transfer uses: it starts with a few and doubles while doubling pays. A link where
// each connection is capped (object stores give ~90 MB/s per connection) grows to the configured maximum;
// a link where the CPU is the limit (loopback, a fast NIC on a small node) stays low, because more
// connections there only cost CPU (measured on 2 cores: 8 connections use ~1 CPU-s more per 2 GiB than 2-4).
// While the process keeps every core busy no step is tried at all (it could only lose).

export interface TunerOptions {
  /** The ceiling (DOWNLOADER_NUM_THREADS). */
  max: number;
  /** Connections to start with (at most `max`). */
  start: number;
  /** Length of one measurement window. */
  windowMs: number;
  /** A step is kept when throughput grows by at least this factor (1.15 = 15 %). */
  gain: number;
  /** After a step that did not pay, wait this many windows before trying again. */
  backoffWindows: number;
}

export const DEFAULT_TUNER: Omit<TunerOptions, "max"> = {
  start: 4,
  windowMs: 1000,
  gain: 1.15,
  backoffWindows: 10,
};

export class ConcurrencyTuner {
  /** Connections the scheduler may run now. */
  limit: number;
  private windowStart = -1;
  private windowBytes = 0;
  /** Throughput at the limit before the step being tried (null: not trying a step). */
  private before: number | null = null;
  private previousLimit = 0;
  private wait = 0;
  /** Watchdog ticks in the current window, and those in which the CPU was the limit. */
  private ticks = 0;
  private cpuBusyTicks = 0;
  /** The first full window has passed. */
  private warm = false;

  constructor(private readonly o: TunerOptions) {
    this.limit = Math.max(1, Math.min(o.max, o.start));
  }

  /** Feed progress: `bytes` arrived since the last call; `busy` = work was waiting for a connection the whole
   *  time (a window where the queue ran dry says nothing about the link and is discarded); `cpuBusy` = the
   *  process used (nearly) every core since the last call, so more connections cannot help. */
  observe(now: number, bytes: number, busy: boolean, cpuBusy = false): void {
    if (this.windowStart < 0 || !busy) {
      this.windowStart = now;
      this.windowBytes = 0;
      this.cpuBusyTicks = this.ticks = 0;
      return;
    }
    this.windowBytes += bytes;
    this.ticks++;
    if (cpuBusy) this.cpuBusyTicks++;
    if (now - this.windowStart < this.o.windowMs) return;
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
      if (rate < this.before * this.o.gain) {
        this.limit = this.previousLimit; // the step did not pay: go back, try again later
        this.wait = this.o.backoffWindows;
      }
      this.before = null;
      // A kept step is tried further at once (the next window measures the doubled limit against this one).
      if (this.wait > 0) return;
    }
    if (this.wait > 0) {
      this.wait--;
      return;
    }
    if (this.limit >= this.o.max || saturated) return; // no step while the CPU is the limit
    this.before = rate;
    this.previousLimit = this.limit;
    this.limit = Math.min(this.o.max, this.limit * 2);
  }
}
