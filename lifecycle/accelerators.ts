// Accelerators for the snapshot, from nvidia-smi when it is installed; an empty list otherwise.
import { execFile } from "node:child_process";
import { reportOnce } from "../lib/report-once.ts";
import type { Logger } from "../log.ts";

export interface Accelerator {
  id: string;
  hbm_total_bytes: number;
  hbm_free_bytes: number;
}

export interface GpuProcess {
  pid: number;
  gpu: string;
  usedBytes: number;
}

const MiB = 1024 * 1024;

// Once nvidia-smi is known to be missing it is not looked for again (no GPU figures: nothing to log).
// Any other failure (non-zero exit, timeout) is logged once per query with its cause.
const missing = new Set<string>();
const failures = reportOnce("nvidia-smi failed; no accelerator figures");

function run(bin: string, args: string[], timeoutMs: number, log?: Logger): Promise<string | null> {
  if (missing.has(bin)) return Promise.resolve(null);
  const key = `${bin} ${args[0]}`;
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: timeoutMs }, (err, stdout) => {
      if ((err as NodeJS.ErrnoException | null)?.code === "ENOENT") missing.add(bin);
      else if (err) failures.failed(log, key, err);
      else failures.ok(log, key);
      resolve(err ? null : stdout);
    });
  });
}

/** One nvidia-smi CSV query (`--query-<what>=<fields>`): its rows of trimmed cells, [] when it fails. */
async function query(bin: string, what: string, timeoutMs: number, log?: Logger): Promise<string[][]> {
  const out = await run(bin, [`--query-${what}`, "--format=csv,noheader,nounits"], timeoutMs, log);
  if (!out) return [];
  return out
    .split("\n")
    .map((l) => l.split(",").map((c) => c.trim()))
    .filter((r) => r.length > 1);
}

const bytes = (mib: string | undefined) => Math.round(Number(mib) * MiB) || 0;

export async function listAccelerators(
  bin = "nvidia-smi",
  timeoutMs = 2000,
  log?: Logger,
): Promise<Accelerator[]> {
  return (await query(bin, "gpu=uuid,memory.total,memory.free", timeoutMs, log)).map(([id, total, free]) => ({
    id: id!,
    hbm_total_bytes: bytes(total),
    hbm_free_bytes: bytes(free),
  }));
}

export async function listGpuProcesses(
  bin = "nvidia-smi",
  timeoutMs = 2000,
  log?: Logger,
): Promise<GpuProcess[]> {
  return (await query(bin, "compute-apps=pid,gpu_uuid,used_memory", timeoutMs, log)).map(
    ([pid, gpu, used]) => ({
      pid: Number(pid),
      gpu: gpu!,
      usedBytes: bytes(used),
    }),
  );
}
