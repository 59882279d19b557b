// What GET /v1/runtime/models and GET /v1/runtime/snapshot report. Neither takes a lock: they read the
// core's current state, so a long download or a slow lifecycle call never delays them (AIBrix B18).
// `ready` comes from the supervisor's last /health probe (phase active), not from a blocking probe.
import { type Accelerator, listAccelerators, listGpuProcesses } from "./accelerators.ts";
import { engineActivity, NO_ACTIVITY } from "./activity.ts";
import { readKvUsage } from "./kv.ts";
import type { Logger } from "../log.ts";
import type { Instance, LifecycleCore } from "./core.ts";
import { cachedArtifacts } from "./markers.ts";
import { processGroup } from "./proc.ts";
import { nowIso } from "./types.ts";

export function isReady(m: LifecycleCore, inst: Instance): boolean {
  return inst.rec.phase === "active" && m.alive(inst);
}

export async function listModels(m: LifecycleCore) {
  const insts = m.all();
  const models = await Promise.all(
    insts.map(async (inst) => {
      const kv = await readKvUsage(inst.rec.ipc_name, undefined, m.log);
      return {
        model_name: inst.rec.model_name,
        port: inst.rec.port,
        ipc_name: inst.rec.ipc_name,
        phase: inst.rec.phase,
        ready: isReady(m, inst),
        kv_used_bytes: kv.used,
        kv_total_bytes: kv.total,
      };
    }),
  );
  return { models };
}

/**
 * Largest per-GPU sum of memory used by processes in the engine's process group; kept as a peak. The
 * supervisor samples it every few seconds (aibrix:modelclaim_hbm_peak_bytes), the snapshot once more.
 */
export async function updateHbmPeaks(
  insts: readonly Instance[],
  nvidiaSmi: string,
  log?: Logger,
): Promise<void> {
  const withPid = insts.filter((i) => i.rec.pid !== null);
  if (withPid.length === 0) return;
  const procs = await listGpuProcesses(nvidiaSmi, undefined, log);
  if (procs.length === 0) return;
  for (const inst of withPid) {
    const perGpu = new Map<string, number>();
    for (const p of procs)
      if (p.pid === inst.rec.pid || processGroup(p.pid) === inst.rec.pid)
        perGpu.set(p.gpu, (perGpu.get(p.gpu) ?? 0) + p.usedBytes);
    inst.hbmPeak = Math.max(inst.hbmPeak, ...perGpu.values());
  }
}

export async function snapshot(m: LifecycleCore, opts: { nvidiaSmi: string; weightCacheDir: string }) {
  const insts = m.all();
  const [accelerators, artifacts] = await Promise.all([
    listAccelerators(opts.nvidiaSmi, undefined, m.log) as Promise<Accelerator[]>,
    cachedArtifacts(opts.weightCacheDir),
    updateHbmPeaks(insts, opts.nvidiaSmi, m.log),
  ]);
  const models = await Promise.all(
    insts.map(async (inst) => {
      const r = inst.rec;
      const alive = m.alive(inst);
      const [kv, activity] = await Promise.all([
        readKvUsage(r.ipc_name, undefined, m.log),
        alive && r.phase !== "sleeping" ? engineActivity(r.port, r.model_name) : NO_ACTIVITY,
      ]);
      return {
        model_name: r.model_name,
        artifact_url: r.artifact_url,
        claim_ref: r.claim_ref,
        port: r.port,
        ipc_name: r.ipc_name,
        phase: r.phase,
        ready: isReady(m, inst),
        alive,
        restart_count: r.restart_count,
        last_error: r.last_error,
        last_transition: r.last_transition,
        kv_used_bytes: kv.used,
        kv_capacity_bytes: kv.total,
        hbm_peak_bytes: inst.hbmPeak,
        ...activity,
      };
    }),
  );
  return { observed_at: nowIso(), accelerators, models, cached_artifacts: artifacts };
}
