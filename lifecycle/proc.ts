// Engine processes: spawn in their own process group (session), identify them by PID + start time,
// and stop the whole group. node:child_process and /proc work the same under Bun and Deno.
import { pidAlive } from "../lib/pid.ts";
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import process from "node:process";

export interface Spawned {
  pid: number;
  /** Start time from /proc, null where /proc is unavailable (then PID reuse cannot be detected). */
  startTime: number | null;
  /** Resolves when the process exits (only for processes this sidecar started). */
  exited: Promise<void>;
}

/**
 * Start `argv` as the leader of a new session and process group. Its output goes to `logFile`, never to a
 * pipe of ours, so the engine keeps running (and writing) when the sidecar dies.
 */
export function spawnGroup(argv: readonly string[], env: Record<string, string>, logFile: string): Spawned {
  const fd = openSync(logFile, "a", 0o600);
  try {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ["ignore", fd, fd], env });
    const exited = new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.once("error", () => resolve());
    });
    if (child.pid === undefined) throw new Error(`could not start '${argv[0]}': not found or not executable`);
    child.unref();
    return { pid: child.pid, startTime: processStartTime(child.pid), exited };
  } finally {
    closeSync(fd);
  }
}

interface Stat {
  state: string;
  pgrp: number;
  startTime: number;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: rest[0] ?? "", pgrp: Number(rest[2]), startTime: Number(rest[19]) };
}

const hasProc = (() => {
  try {
    readFileSync("/proc/self/stat");
    return true;
  } catch {
    return false;
  }
})();

export function processStartTime(pid: number): number | null {
  return hasProc ? (readStat(pid)?.startTime ?? null) : null;
}

/** Is `pid` alive and (when a start time is known) still the very process we started? Zombies are dead. */
export function isOurProcess(pid: number, startTime: number | null): boolean {
  if (hasProc) {
    const st = readStat(pid);
    if (!st || st.state === "Z" || st.state === "X") return false;
    return startTime === null || st.startTime === startTime;
  }
  return pidAlive(pid);
}

/** Signal the whole process group led by `pid`; false when no such group exists. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stop the group: SIGTERM, wait up to `graceMs` for the leader to go, then SIGKILL whatever is left of the
 * group (workers an engine forked). Resolves when the leader is gone.
 */
export async function stopGroup(pid: number, startTime: number | null, graceMs: number): Promise<void> {
  if (isOurProcess(pid, startTime)) signalGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isOurProcess(pid, startTime) && Date.now() < deadline) await delay(50);
  // Only a group we can still attribute to us (leader ours, or leader gone) is killed: never a reused PID's.
  if (isOurProcess(pid, startTime) || !isAlive(pid)) signalGroup(pid, "SIGKILL");
  while (isOurProcess(pid, startTime)) await delay(20);
}

function isAlive(pid: number): boolean {
  return isOurProcess(pid, null);
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Process group of `pid` (from /proc), null when unknown. */
export function processGroup(pid: number): number | null {
  return hasProc ? (readStat(pid)?.pgrp ?? null) : null;
}
