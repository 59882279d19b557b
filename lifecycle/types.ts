// ModelClaim lifecycle data: the phases AIBrix reports and the record persisted per launched engine
// (reference/AIBRIX-RUNTIME.md §1.9, §6.1). Field names are AIBrix's so the registry file reads the same.

export const PHASES = ["booting", "active", "sleeping", "restarting", "failed", "stopping"] as const;
export type Phase = (typeof PHASES)[number];

export interface ClaimRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface EngineConfig {
  /** "--flag" -> "value"; "" means a boolean flag with no value. */
  args?: Record<string, string>;
}

/** One launched engine, exactly as written to the registry file. */
export interface EngineRecord {
  model_name: string;
  engine: string;
  artifact_url: string;
  port: number;
  ipc_name: string;
  /** Process-group leader; null while the weights are still downloading or between restarts. */
  pid: number | null;
  /** /proc/<pid>/stat field 22 (clock ticks since boot): tells our process from a reused PID. */
  pid_start_time: number | null;
  engine_config: EngineConfig | null;
  additional_config: Record<string, string> | null;
  claim_ref: ClaimRef | null;
  phase: Phase;
  restart_count: number;
  last_error: string | null;
  /** RFC 3339 UTC. */
  last_transition: string;
  /** Epoch seconds of the next restart attempt (phase restarting), else null. */
  next_restart_at: number | null;
  /** Local weights path handed to the engine once resolved (download done or path used in place). */
  model_path?: string | null;
}

export type LifecycleAction = "sleep" | "wake" | "kv-limit";

export const RE_ADOPTION_RESULTS = [
  "success",
  "restart_scheduled",
  "terminal",
  "stopping",
  "removed",
  "invalid",
  "duplicate",
] as const;
export type ReAdoptionResult = (typeof RE_ADOPTION_RESULTS)[number];

export const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
