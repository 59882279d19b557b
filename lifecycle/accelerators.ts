// Accelerators for the snapshot, from nvidia-smi when it is installed; an empty list otherwise.
import { execFile } from "node:child_process";

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

// Once nvidia-smi is known to be missing it is not looked for again.
const missing = new Set<string>();

function run(bin: string, args: string[], timeoutMs: number): Promise<string | null> {
  if (missing.has(bin)) return Promise.resolve(null);
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: timeoutMs }, (err, stdout) => {
      if ((err as NodeJS.ErrnoException | null)?.code === "ENOENT") missing.add(bin);
      resolve(err ? null : stdout);
    });
  });
}

/** One nvidia-smi CSV query (`--query-<what>=<fields>`): its rows of trimmed cells, [] when it fails. */
async function query(bin: string, what: string, timeoutMs: number): Promise<string[][]> {
  const out = await run(bin, [`--query-${what}`, "--format=csv,noheader,nounits"], timeoutMs);
  if (!out) return [];
  return out
    .split("\n")
    .map((l) => l.split(",").map((c) => c.trim()))
    .filter((r) => r.length > 1);
}

const bytes = (mib: string | undefined) => Math.round(Number(mib) * MiB) || 0;

export async function listAccelerators(bin = "nvidia-smi", timeoutMs = 2000): Promise<Accelerator[]> {
  return (await query(bin, "gpu=uuid,memory.total,memory.free", timeoutMs)).map(([id, total, free]) => ({
    id: id!,
    hbm_total_bytes: bytes(total),
    hbm_free_bytes: bytes(free),
  }));
}

export async function listGpuProcesses(bin = "nvidia-smi", timeoutMs = 2000): Promise<GpuProcess[]> {
  return (await query(bin, "compute-apps=pid,gpu_uuid,used_memory", timeoutMs)).map(([pid, gpu, used]) => ({
    pid: Number(pid),
    gpu: gpu!,
    usedBytes: bytes(used),
  }));
}
