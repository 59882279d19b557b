import { describe, expect, test } from "bun:test";
import { ConcurrencyTuner, DEFAULT_TUNER } from "./concurrency.ts";

/** Drive a tuner against a simulated link for `seconds`, 50 ms ticks (the transfer's watchdog); returns the
 *  limit after each tick. */
function simulate(
  tuner: ConcurrencyTuner,
  bytesPerMs: (connections: number) => number,
  seconds: number,
  busy: (t: number) => boolean = () => true,
): number[] {
  const limits: number[] = [];
  for (let t = 0; t <= seconds * 1000; t += 50) {
    tuner.observe(t, bytesPerMs(tuner.limit) * 50, busy(t));
    limits.push(tuner.limit);
  }
  return limits;
}

describe("ConcurrencyTuner", () => {
  test("per-connection capped link (object store): grows to the maximum", () => {
    const t = new ConcurrencyTuner({ ...DEFAULT_TUNER, max: 32 });
    expect(t.limit).toBe(4);
    const limits = simulate(t, (c) => Math.min(c * 90_000, 4_000_000), 6);
    expect(limits.at(-1)).toBe(32);
    // 4 -> 8 doubled the throughput, so the next step quadruples (8 -> 32).
    expect(new Set(limits)).toEqual(new Set([4, 8, 32]));
  });

  test("ramp: a link capping each connection (16 MiB/s) takes 4 -> 64 connections in half a second", () => {
    const t = new ConcurrencyTuner({ ...DEFAULT_TUNER, max: 64 });
    const limits = simulate(t, (c) => c * 16_777, 2);
    const at64 = limits.indexOf(64);
    expect(at64).toBeGreaterThan(0);
    expect(at64 * 50).toBeLessThanOrEqual(500); // simulated ms (four doublings took 700)
    expect(new Set(limits)).toEqual(new Set([4, 8, 32, 64]));
    expect(limits.at(-1)).toBe(64);
  });

  test("ramp ends at the first doubling that does not nearly double; growth then goes on slowly", () => {
    const t = new ConcurrencyTuner({ ...DEFAULT_TUNER, max: 64 });
    // Capped connections behind a 20-connection bottleneck: 8 -> 32 gains 2.5x (>= 1.5 squared, the ramp
    // goes on), 32 -> 64 gains nothing: the ramp is over and 64 is undone.
    const limits = simulate(t, (c) => Math.min(c, 20) * 16_777, 3);
    expect(t.ramping).toBe(false);
    expect(limits.at(-1)).toBe(32);
    expect(limits.filter((l) => l === 64).length).toBeGreaterThanOrEqual(2); // judged in one ramp window
  });

  test("stops where the link saturates", () => {
    const t = new ConcurrencyTuner({ ...DEFAULT_TUNER, max: 64 });
    // 100 MB/s per connection up to 1 GB/s: 4 -> 8 doubles, so 32 is tried next; it gains 25 % (short of
    // 1.5 squared), so the doubling in between (16) is judged instead: +25 % kept, ramp over; 16 -> 32
    // (1 s window) does not pay.
    const limits = simulate(t, (c) => Math.min(c * 100_000, 1_000_000), 8);
    expect(t.limit).toBe(16);
    expect(limits.indexOf(16)).toBeGreaterThan(limits.indexOf(32)); // 16 came from the fallen-short jump
  });

  test("CPU-bound link (loopback): tries one step, goes back, and retries only after the back-off", () => {
    const t = new ConcurrencyTuner({ ...DEFAULT_TUNER, max: 8 });
    const limits = simulate(t, (c) => (c <= 4 ? 700_000 : 690_000), 20);
    expect(limits.at(-1)).toBe(4);
    const probes = limits.filter((l, i) => l === 8 && limits[i - 1] === 4).length;
    expect(probes).toBeGreaterThanOrEqual(1);
    expect(probes).toBeLessThanOrEqual(2); // one probe, then 10 windows (1 s each) of back-off
    expect(limits.filter((l) => l === 8).length).toBeLessThan(limits.length / 5);
  });

  test("no step while the process keeps every core busy", () => {
    const t = new ConcurrencyTuner({ ...DEFAULT_TUNER, max: 16 });
    for (let ms = 0; ms <= 5000; ms += 50) t.observe(ms, t.limit * 4500, true, true);
    expect(t.limit).toBe(4);
    // Once the CPU has room again, a per-connection capped link grows as before (in 1 s windows).
    for (let ms = 5050; ms <= 10_000; ms += 50) t.observe(ms, t.limit * 4500, true, false);
    expect(t.limit).toBe(16);
  });

  test("the first window (connection set-up, slow start) is not a baseline for a step", () => {
    const t = new ConcurrencyTuner({ ...DEFAULT_TUNER, max: 8 });
    let ms = 0;
    for (; ms <= 6000; ms += 50) t.observe(ms, (ms < 100 ? 30_000 : 70_000) * 50, true);
    expect(t.limit).toBe(4); // a flat link after start-up: the step to 8 was tried and undone
  });

  test("windows where the queue ran dry are not judged", () => {
    const t = new ConcurrencyTuner({ ...DEFAULT_TUNER, max: 16 });
    simulate(
      t,
      (c) => c * 90_000,
      5,
      () => false,
    );
    expect(t.limit).toBe(4);
  });

  test("a maximum below the start is respected", () => {
    const t = new ConcurrencyTuner({ ...DEFAULT_TUNER, max: 2 });
    simulate(t, (c) => c * 90_000, 5);
    expect(t.limit).toBe(2);
    expect(new ConcurrencyTuner({ ...DEFAULT_TUNER, max: 1, start: 4 }).limit).toBe(1);
  });
});
