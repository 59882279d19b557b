// Process-level facts and hooks; node:process works under Bun and Deno alike.
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

/** CPU time this process has used (user + system, all threads), in microseconds. */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
