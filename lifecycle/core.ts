// The lifecycle core: the state of every engine this sidecar launched (persisted in the registry with the
// completed operation ids) and one lock per model. The verbs (activate/deactivate in manager.ts, the
// weights download, sleep/wake/kv-limit in actions.ts, supervision, re-adoption) depend on it; it depends
// on none of them.
//
// Locking (fixes AIBrix B18): each model has its own lock for state changes; reads (list, snapshot) take
// none, and downloads run outside every lock, so a long download delays nothing but its own engine.
import { keyedSerial } from "../lib/keyed-serial.ts";
import type { Logger } from "../log.ts";
import { redactString } from "../redact.ts";
import type { LifecycleMetrics } from "./metrics.ts";
import { OperationLog } from "./operations.ts";
import { isOurProcess } from "./proc.ts";
import { createRegistry, type Registry } from "./registry.ts";
import type { ClearActivation } from "./secrets.ts";
import { type EngineRecord, nowIso, type Phase } from "./types.ts";

/** One engine as the core tracks it: the persisted record plus in-memory handles. */
export interface Instance {
  rec: EngineRecord;
  /** Aborts the weights download while one runs. */
  download?: AbortController;
  /** Credentials from the activation: kept in memory only, never written to the registry. */
  credentials?: Record<string, string>;
  /** The activation's clear values (secret engine args, signed artifact_url): memory only (secrets.ts). */
  clear?: ClearActivation;
  /** Spawned by this process (a start time may be unknown without /proc; the process is still ours). */
  spawnedHere?: boolean;
  hbmPeak: number;
}

export class LifecycleCore {
  private readonly engines = new Map<string, Instance>();
  /** Completed sleep/wake/kv-limit operation ids (launched and attached engines), persisted. */
  readonly operations: OperationLog;
  readonly registry: Registry;
  private readonly locks = keyedSerial();
  /** Called when an engine enters booting or restarting (the supervisor probes sooner). */
  onBoot?: () => void;
  private closed = false;

  constructor(
    registryPath: string,
    readonly log: Logger,
    readonly metrics: LifecycleMetrics | undefined,
    initialOps: Record<string, string[]> = {},
  ) {
    this.operations = new OperationLog(initialOps);
    this.registry = createRegistry(registryPath, () => ({
      engines: this.all().map((i) => i.rec),
      operations: this.operations.toJSON(),
    }));
  }

  get(model: string): Instance | undefined {
    return this.engines.get(model);
  }

  has(model: string): boolean {
    return this.engines.has(model);
  }

  all(): Instance[] {
    return [...this.engines.values()];
  }

  add(inst: Instance): void {
    this.engines.set(inst.rec.model_name, inst);
  }

  remove(model: string): void {
    this.engines.delete(model);
    this.metrics?.forget(model);
  }

  /** Run `fn` holding `key`'s lock (a model name, or an internal key such as the port chooser's). */
  withModel<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(key, null, fn);
  }

  isBusy(model: string): boolean {
    return this.locks.busy(model);
  }

  persist(): Promise<void> {
    return this.registry.save();
  }

  setPhase(inst: Instance, phase: Phase, lastError?: string | null): void {
    if (inst.rec.phase !== phase) {
      this.log.info("engine phase", {
        model: inst.rec.model_name,
        from: inst.rec.phase,
        to: phase,
        error: lastError ? redactString(lastError) : undefined,
      });
      inst.rec.phase = phase;
      inst.rec.last_transition = nowIso();
      if (phase === "booting" || phase === "restarting") this.onBoot?.();
    }
    if (lastError !== undefined) inst.rec.last_error = lastError === null ? null : redactString(lastError);
  }

  alive(inst: Instance): boolean {
    return inst.rec.pid !== null && isOurProcess(inst.rec.pid, inst.rec.pid_start_time);
  }

  /** Stop: no new activation, running downloads aborted (engines keep running, see index.ts). */
  close(): void {
    this.closed = true;
    for (const inst of this.engines.values()) inst.download?.abort();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
