// Engine state of one mock: loaded adapters, call counts, readiness, sleep, and the simulated load.
import { Simulation } from "./sim.ts";
import type { CallCounts, EngineState, MockOptions } from "./types.ts";

export type ResolvedOptions = EngineState["opts"];

export const DEFAULT_MODEL = "meta-llama/Llama-3.1-8B-Instruct";

export function resolveOptions(o: MockOptions): ResolvedOptions {
  return {
    engine: o.engine,
    model: o.model ?? DEFAULT_MODEL,
    apiKey: o.apiKey,
    maxLoras: o.maxLoras ?? 4,
    startupDelayMs: o.startupDelayMs ?? 0,
    seed: o.seed ?? 42,
    env: { VLLM_ALLOW_RUNTIME_LORA_UPDATING: "True", VLLM_SERVER_DEV_MODE: "1", ...o.env },
    metrics: o.metrics ?? true,
    tickMs: o.tickMs ?? 100,
    load: o.load ?? 4.5,
    enableLora: o.enableLora ?? true,
    loras: o.loras ?? {},
    modelControlMode: o.modelControlMode ?? "explicit",
  };
}

export class MockState implements EngineState {
  readonly adapters = new Map<string, string>();
  sim: Simulation;
  startedAtMs = Date.now();
  readyAtMs: number;
  sleepLevel: 0 | 1 | 2 = 0;
  private lastStamp = 0;
  /** Steps skipped after long idle stretches (see catchUp). */
  private skipped = 0;

  constructor(
    readonly opts: ResolvedOptions,
    readonly calls: Map<string, CallCounts>,
    downMs: number,
  ) {
    this.readyAtMs = this.startedAtMs + downMs;
    for (const [name, path] of Object.entries(opts.loras)) this.adapters.set(name, path);
    this.sim = new Simulation({
      seed: opts.seed,
      load: opts.load,
      maxRunning: 32,
      maxLorasPerBatch: opts.maxLoras,
      kvCapacityTokens: 2048 * 16,
      adapters: () => [...this.adapters.keys()],
    });
  }

  isReady(): boolean {
    return Date.now() >= this.readyAtMs;
  }

  catchUp(): void {
    if (this.opts.tickMs <= 0 || !this.isReady()) return;
    const due = Math.floor((Date.now() - this.readyAtMs) / this.opts.tickMs) - this.skipped;
    let todo = due - this.sim.steps;
    // After a long idle stretch, skip ahead rather than replay hours of steps in one request.
    if (todo > 3000) {
      this.skipped += todo - 3000;
      todo = 3000;
    }
    while (todo-- > 0) this.sim.step();
  }

  stamp(): number {
    this.lastStamp = Math.max(Date.now() / 1000, this.lastStamp + 0.001);
    return this.lastStamp;
  }
}

export function countCall(calls: Map<string, CallCounts>, name: string, kind: keyof CallCounts): void {
  const c = calls.get(name) ?? { load: 0, unload: 0 };
  c[kind]++;
  calls.set(name, c);
}
