import { describe, expect, test } from "bun:test";
import { ConcurrencyTuner, DEFAULT_TUNER } from "./concurrency.ts";

/** Drive a tuner against a simulated link for `seconds`, 100 ms ticks; returns the limits it chose. */
function simulate(
  tuner: ConcurrencyTuner,
  bytesPerMs: (connections: number) => number,
  seconds: number,
  busy: (t: number) => boolean = () => true,
): number[] {
  const limits: number[] = [];
  for (let t = 0; t <= seconds * 1000; t += 100) {
    tuner.observe(t, bytesPerMs(tuner.limit) * 100, busy(t));
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
    expect(new Set(limits)).toEqual(new Set([4, 8, 16, 32]));
  });

  test("stops where the link saturates", () => {
    const t = new ConcurrencyTuner({ ...DEFAULT_TUNER, max: 64 });
    // 100 MB/s per connection up to 1 GB/s: 8 -> 16 still pays (+25 %), 16 -> 32 does not.
    simulate(t, (c) => Math.min(c * 100_000, 1_000_000), 8);
    expect(t.limit).toBe(16);
  });

  test("CPU-bound link (loopback): tries one step, goes back, and retries only after the back-off", () => {
    const t = new ConcurrencyTuner({ ...DEFAULT_TUNER, max: 8 });
    const limits = simulate(t, (c) => (c <= 4 ? 700_000 : 690_000), 20);
    expect(limits.at(-1)).toBe(4);
    const probes = limits.filter((l, i) => l === 8 && limits[i - 1] === 4).length;
    expect(probes).toBeGreaterThanOrEqual(1);
    expect(probes).toBeLessThanOrEqual(2); // one probe, then 10 windows of back-off
    expect(limits.filter((l) => l === 8).length).toBeLessThan(limits.length / 5);
  });

  test("no step while the process keeps every core busy", () => {
    const t = new ConcurrencyTuner({ ...DEFAULT_TUNER, max: 16 });
    for (let ms = 0; ms <= 5000; ms += 100) t.observe(ms, t.limit * 9000, true, true);
    expect(t.limit).toBe(4);
    // Once the CPU has room again, a per-connection capped link grows as before.
    for (let ms = 5100; ms <= 10_000; ms += 100) t.observe(ms, t.limit * 9000, true, false);
    expect(t.limit).toBe(16);
  });

  test("the first window (connection set-up, slow start) is not a baseline for a step", () => {
    const t = new ConcurrencyTuner({ ...DEFAULT_TUNER, max: 8 });
    let ms = 0;
    for (; ms <= 6000; ms += 100) t.observe(ms, (ms < 1000 ? 30_000 : 70_000) * 100, true);
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
