// PID liveness: signal 0 checks existence without delivering anything; EPERM means the process exists but
// belongs to someone else (alive all the same).
import process from "node:process";

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
