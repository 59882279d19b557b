// Process-level facts and hooks; node:process works under Bun and Deno alike.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import process from "node:process";
import { runtimeName } from "./serve.ts";

export { runtimeName };

export function environment(): Record<string, string | undefined> {
  return { ...process.env };
}

export function argv(): string[] {
  // Compiled Bun binaries put the binary path at [0] and "bun" is not present; Deno gives script args only.
  return process.argv.slice(2);
}

/** The name the process was started under (a symlink's name, e.g. `aibrix_download`), without directories. */
export function invokedAs(): string {
  return (process.argv0 ?? "").split("/").pop() ?? "";
}

export function onShutdownSignal(handler: (signal: string) => void): void {
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => handler(sig));
}

export function exit(code: number): never {
  process.exit(code);
}

export function runtimeVersion(): string {
  return `${runtimeName} ${runtimeName === "bun" ? (globalThis as any).Bun.version : (globalThis as any).Deno.version.deno}`;
}

/** A full, synchronous garbage collection where the runtime offers one (Bun; Deno only with --expose-gc). */
export function fullGc(): void {
  const B = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (B) B.gc(true);
  else (globalThis as { gc?: () => void }).gc?.();
}

/** SIGUSR2 runs a full GC: soak tests use it so RSS readings compare like with like. */
export function gcOnSignal(): void {
  process.on("SIGUSR2", () => fullGc());
}

/** Cores this process may use: the CPUs it may run on, capped by a cgroup CPU quota (a pod's CPU limit,
 *  which the CPU count alone does not show; cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us`). */
export function cpuBudget(): number {
  const read = (p: string) => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return null;
    }
  };
  const v2 = read("/sys/fs/cgroup/cpu.max");
  const quota =
    v2 !== null
      ? quotaCores(v2)
      : quotaCores(
          `${read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")} ${read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")}`,
        );
  return quota === null ? availableParallelism() : Math.min(availableParallelism(), quota);
}

/** "<quota> <period>" (cgroup v2 `cpu.max`, or v1's two files joined) as cores; null when unlimited or unknown. */
export function quotaCores(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/).map(Number);
  if (quota === undefined || period === undefined || !(quota > 0) || !(period > 0)) return null;
  return Math.max(0.1, quota / period);
}

/** CPU time this process has used (user + system, all threads), in microseconds. */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

let jscFullGc: (() => unknown) | null | undefined;

/** A full garbage collection now (Bun); elsewhere nothing. JSC's own full collection (bun:jsc fullGC), not
 *  `Bun.gc(true)`: that one also throws away all compiled code and returns the allocator's free memory to the
 *  OS, so the downloader (which collects every 16 MiB past 96 MiB RSS) paid for recompiling its hot loop and
 *  re-faulting every fresh socket buffer (measured: 64 capped connections, 512 MiB, page faults 93-112 k ->
 *  53-60 k, CPU 0.94-1.04 -> 0.82-0.96 s). `returnMemory`: `Bun.gc(true)` after all, for a caller close to its
 *  memory budget (the free pages JSC's collection keeps are 10-20 MiB at 64 connections). */
export function collectGarbage(returnMemory = false): void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  // `Bun.gc(true)` when the caller is short of memory: the allocator's free pages go back to the OS.
  if (returnMemory && bun) {
    bun.gc(true);
    return;
  }
  if (jscFullGc === undefined) {
    try {
      jscFullGc = (createRequire(import.meta.url)("bun:jsc") as { fullGC(): unknown }).fullGC;
    } catch {
      jscFullGc = null;
    }
  }
  if (jscFullGc) jscFullGc();
  else bun?.gc(true);
}

/** Resident set size of this process, in bytes. */
export function residentBytes(): number {
  return process.memoryUsage.rss();
}
