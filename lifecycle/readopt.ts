// Re-adoption after a sidecar restart: every engine in the registry is either taken back (its PID is alive
// AND has the recorded start time; a record without one is never adopted, so a reused PID is never mistaken for ours), rescheduled, kept as
// failed, or cleaned up. Results are counted in aibrix:modelclaim_engine_re_adoptions_total.
import type { Instance, LifecycleCore } from "./core.ts";
import type { LifecycleManager } from "./manager.ts";
import { isOurProcess, stopGroup } from "./proc.ts";
import { type EngineRecord, PHASES, type ReAdoptionResult } from "./types.ts";

function valid(r: unknown): r is EngineRecord {
  if (!r || typeof r !== "object") return false;
  const e = r as Record<string, unknown>;
  return (
    typeof e.model_name === "string" &&
    e.model_name !== "" &&
    typeof e.engine === "string" &&
    typeof e.artifact_url === "string" &&
    Number.isInteger(e.port) &&
    typeof e.ipc_name === "string" &&
    (e.pid === null || Number.isInteger(e.pid)) &&
    PHASES.includes(e.phase as never)
  );
}

/** Decide one record's fate. Does not touch the state. */
export function classify(
  r: EngineRecord,
  alive: (pid: number, start: number | null) => boolean,
): ReAdoptionResult {
  if (r.phase === "failed") return "terminal";
  // Without a recorded start time a PID cannot be told from a reused one: never adopted, never signalled.
  const live = r.pid !== null && r.pid_start_time != null && alive(r.pid, r.pid_start_time);
  if (r.phase === "stopping") return live ? "stopping" : "removed";
  return live ? "success" : "restart_scheduled";
}

export async function readopt(
  m: LifecycleCore,
  manager: Pick<LifecycleManager, "onEngineDeath" | "stopGraceMs">,
  records: readonly unknown[],
): Promise<Record<ReAdoptionResult, number>> {
  const counts = {
    success: 0,
    restart_scheduled: 0,
    terminal: 0,
    stopping: 0,
    removed: 0,
    invalid: 0,
    duplicate: 0,
  };
  const stops: Promise<void>[] = [];
  for (const raw of records) {
    let result: ReAdoptionResult;
    if (!valid(raw)) result = "invalid";
    else if (m.has(raw.model_name)) result = "duplicate";
    else {
      const defaults: Omit<
        EngineRecord,
        "model_name" | "engine" | "artifact_url" | "port" | "ipc_name" | "pid" | "phase"
      > = {
        pid_start_time: null,
        engine_config: null,
        additional_config: null,
        claim_ref: null,
        restart_count: 0,
        last_error: null,
        last_transition: new Date().toISOString(),
        next_restart_at: null,
        model_path: null,
      };
      const rec: EngineRecord = Object.assign(defaults, raw);
      result = classify(rec, isOurProcess);
      const inst: Instance = { rec, hbmPeak: 0 };
      if (result === "success" || result === "terminal") m.add(inst);
      else if (result === "stopping")
        stops.push(stopGroup(rec.pid!, rec.pid_start_time, manager.stopGraceMs));
      else if (result === "restart_scheduled") {
        m.add(inst);
        if (rec.pid !== null) {
          manager.onEngineDeath(inst, "engine exited while the sidecar was down");
          if (rec.phase === "failed") result = "terminal";
        } else if (rec.phase !== "restarting") {
          // The sidecar died before the spawn or mid-download: resume the activation (no restart counted).
          rec.phase = "restarting";
          rec.next_restart_at = Date.now() / 1000;
        }
        // phase restarting with pid null: the backoff from before the crash still applies.
      }
    }
    counts[result]++;
    m.metrics?.reAdoption(result);
    m.log.info("engine re-adoption", {
      model: valid(raw) ? raw.model_name : undefined,
      pid: valid(raw) ? raw.pid : undefined,
      result,
    });
  }
  await Promise.all(stops);
  if (records.length > 0) await m.persist();
  return counts;
}
