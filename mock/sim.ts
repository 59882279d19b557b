// Simulated load shared by every personality: requests arrive (a slow wave, so KV usage rises and falls),
// queue, run (prefill, then decode token by token), and finish. Personalities turn the events into their own
// metric families. Time is simulated: one step = STEP_S seconds; the engine maps wall time to steps, or a test
// advances steps itself. Everything random comes from the seeded Rng, so a seed reproduces a run.
import { createRng, type Rng } from "./rng.ts";

export const STEP_S = 0.1;

export interface SimRequest {
  id: number;
  /** Adapter name the request names, or null for the base model. */
  adapter: string | null;
  promptTokens: number;
  cachedTokens: number;
  maxTokens: number;
  /** How many tokens it will generate before stopping on its own. */
  target: number;
  n: number;
  generated: number;
  arrivedAt: number;
  startedAt?: number;
  firstTokenAt?: number;
  lastTokenAt?: number;
}

export interface FinishedRequest {
  req: SimRequest;
  reason: "stop" | "length" | "abort";
  queueS: number;
  prefillS: number;
  decodeS: number;
  inferenceS: number;
  e2eS: number;
  ttftS: number;
  /** Mean time per output token for this request. */
  tpotS: number;
  /** One inter-token latency per generated token after the first. */
  itlS: number;
}

export interface StepStats {
  /** Tokens processed in this engine step (prefill + decode). */
  tokens: number;
  promptTokens: number;
  generatedTokens: number;
  preemptions: number;
  finished: FinishedRequest[];
}

export interface SimOptions {
  seed: number;
  /** Mean arrivals per simulated second at the crest of the wave; 0 = idle (only explicit requests). */
  load: number;
  maxRunning: number;
  /** Distinct adapters a batch may hold (vLLM --max-loras); requests for other adapters keep waiting. */
  maxLorasPerBatch: number;
  kvCapacityTokens: number;
  /** Adapters simulated requests may name (called each step, so newly loaded adapters get traffic). */
  adapters: () => readonly string[];
}

export class Simulation {
  readonly rng: Rng;
  time = 0;
  steps = 0;
  /** Requests enqueued so far (arrivals plus explicit requests). */
  arrived = 0;
  waiting: SimRequest[] = [];
  running: SimRequest[] = [];
  private nextId = 1;
  private readonly listeners: Array<(s: StepStats) => void> = [];

  constructor(readonly opts: SimOptions) {
    this.rng = createRng(opts.seed);
  }

  onStep(fn: (s: StepStats) => void): void {
    this.listeners.push(fn);
  }

  kvUsedTokens(): number {
    let used = 0;
    for (const r of this.running) used += r.promptTokens + r.generated;
    return used;
  }

  kvUsage(): number {
    return Math.min(1, this.kvUsedTokens() / this.opts.kvCapacityTokens);
  }

  /** Add a request (from a real API call, or the arrival process). */
  enqueue(adapter: string | null, promptTokens?: number, maxTokens?: number): SimRequest {
    const rng = this.rng;
    const prompt = promptTokens ?? rng.int(16, 1500);
    const max = maxTokens ?? rng.pick([64, 128, 256, 512, 1024])!;
    const req: SimRequest = {
      id: this.nextId++,
      adapter,
      promptTokens: prompt,
      cachedTokens: Math.floor(prompt * rng.next() * 0.6),
      maxTokens: max,
      target: Math.min(max, rng.int(8, Math.max(8, max + 40))),
      n: rng.next() < 0.9 ? 1 : 2,
      generated: 0,
      arrivedAt: this.time,
    };
    this.waiting.push(req);
    this.arrived++;
    return req;
  }

  step(): StepStats {
    const rng = this.rng;
    const stats: StepStats = { tokens: 0, promptTokens: 0, generatedTokens: 0, preemptions: 0, finished: [] };
    this.time += STEP_S;
    this.steps++;

    // Arrivals follow a slow wave (period 120 s) so queues and KV usage rise and fall.
    const crest = this.opts.load;
    if (crest > 0) {
      const wave = 0.5 + 0.5 * Math.sin((2 * Math.PI * this.time) / 120);
      const arrivals = rng.poisson(crest * STEP_S * (0.1 + 0.9 * wave));
      const adapters = this.opts.adapters();
      for (let i = 0; i < arrivals; i++) {
        const adapter = adapters.length > 0 && rng.next() < 0.5 ? rng.pick(adapters)! : null;
        this.enqueue(adapter);
      }
    }

    // Admit in queue order while there is a batch slot and KV room for the prompt; a request whose adapter
    // would exceed the per-batch adapter limit is skipped (it keeps waiting) as vLLM's scheduler does.
    const active = new Set(this.running.flatMap((r) => (r.adapter ? [r.adapter] : [])));
    const stillWaiting: SimRequest[] = [];
    let full = false;
    for (const next of this.waiting) {
      full ||=
        this.running.length >= this.opts.maxRunning ||
        this.kvUsedTokens() + next.promptTokens > this.opts.kvCapacityTokens * 0.95;
      const loraBlocked =
        next.adapter !== null && !active.has(next.adapter) && active.size >= this.opts.maxLorasPerBatch;
      if (full || loraBlocked) {
        stillWaiting.push(next);
        continue;
      }
      if (next.adapter) active.add(next.adapter);
      next.startedAt = this.time;
      stats.promptTokens += next.promptTokens;
      stats.tokens += next.promptTokens - next.cachedTokens;
      this.running.push(next);
    }
    this.waiting = stillWaiting;

    // Decode: every running request that finished prefill produces 1-4 tokens this step.
    const still: SimRequest[] = [];
    for (const r of this.running) {
      if (r.startedAt === this.time) {
        still.push(r);
        continue;
      }
      const k = Math.min(rng.int(1, 4), r.target - r.generated);
      r.generated += k;
      stats.generatedTokens += k;
      stats.tokens += k;
      if (r.firstTokenAt === undefined && k > 0) r.firstTokenAt = this.time;
      r.lastTokenAt = this.time;
      const abort = rng.next() < 0.0005;
      if (r.generated >= r.target || abort) {
        stats.finished.push(this.finish(r, abort ? "abort" : r.generated >= r.maxTokens ? "length" : "stop"));
      } else still.push(r);
    }
    this.running = still;

    // Preempt the newest request when the KV cache overflows (it goes back to the front of the queue).
    while (this.running.length > 1 && this.kvUsedTokens() > this.opts.kvCapacityTokens) {
      const victim = this.running.pop()!;
      victim.generated = 0;
      victim.startedAt = undefined;
      victim.firstTokenAt = undefined;
      this.waiting.unshift(victim);
      stats.preemptions++;
    }

    for (const l of this.listeners) l(stats);
    return stats;
  }

  private finish(r: SimRequest, reason: FinishedRequest["reason"]): FinishedRequest {
    const started = r.startedAt ?? this.time;
    const first = r.firstTokenAt ?? this.time;
    const decodeS = Math.max(0, this.time - first);
    const gen = Math.max(1, r.generated);
    return {
      req: r,
      reason,
      queueS: started - r.arrivedAt,
      prefillS: first - started,
      decodeS,
      inferenceS: this.time - started,
      e2eS: this.time - r.arrivedAt,
      ttftS: first - r.arrivedAt,
      tpotS: decodeS / gen,
      itlS: gen > 1 ? decodeS / (gen - 1) : 0,
    };
  }

  /** Adapters named by running / waiting requests, in first-seen order (as vLLM's LoRARequestStates). */
  adapterLists(): { running: string[]; waiting: string[] } {
    const uniq = (rs: SimRequest[]) => [...new Set(rs.flatMap((r) => (r.adapter ? [r.adapter] : [])))];
    return { running: uniq(this.running), waiting: uniq(this.waiting) };
  }
}
