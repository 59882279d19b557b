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

function rows(text: string | null): string[][] {
  if (!text) return [];
  return text
    .split("\n")
    .map((l) => l.split(",").map((c) => c.trim()))
    .filter((r) => r.length > 1);
}

export async function listAccelerators(bin = "nvidia-smi", timeoutMs = 2000): Promise<Accelerator[]> {
  const out = await run(
    bin,
    ["--query-gpu=uuid,memory.total,memory.free", "--format=csv,noheader,nounits"],
    timeoutMs,
  );
  return rows(out).map(([id, total, free]) => ({
    id: id!,
    hbm_total_bytes: Math.round(Number(total) * MiB) || 0,
    hbm_free_bytes: Math.round(Number(free) * MiB) || 0,
  }));
}

export async function listGpuProcesses(bin = "nvidia-smi", timeoutMs = 2000): Promise<GpuProcess[]> {
  const out = await run(
    bin,
    ["--query-compute-apps=pid,gpu_uuid,used_memory", "--format=csv,noheader,nounits"],
    timeoutMs,
  );
  return rows(out).map(([pid, gpu, used]) => ({
    pid: Number(pid),
    gpu: gpu!,
    usedBytes: Math.round(Number(used) * MiB) || 0,
  }));
}
