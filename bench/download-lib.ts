// Shared by the download benches: make a source file, run one case as a fresh process (wall time, max RSS
// and CPU seconds sampled from /proc), medians.
import { spawn } from "node:child_process";
import { open, readFile, stat } from "node:fs/promises";

const MiB = 1024 * 1024;

export interface RunResult {
  ms: number;
  maxRssMiB: number;
  cpuS: number;
  code: number | null;
  out: string;
}

/** A file of `size` random bytes at `path` (kept between runs when its size matches). */
export async function ensureSource(path: string, size: number): Promise<void> {
  const s = await stat(path).catch(() => null);
  if (s?.size === size) return;
  console.error(`writing ${size / MiB} MiB of random data to ${path} ...`);
  const fh = await open(path, "w");
  const { randomFillSync } = await import("node:crypto");
  const buf = Buffer.allocUnsafe(16 * MiB);
  for (let off = 0; off < size; off += buf.length) {
    randomFillSync(buf);
    await fh.write(buf, 0, Math.min(buf.length, size - off), off);
  }
  await fh.close();
}

/** Flush the previous case's dirty pages before the next case starts, so no case pays for another's writeback. */
export const settle = () => new Promise<void>((res) => spawn("sync").on("exit", () => res()));

export async function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  await settle();
  return new Promise((res) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    let maxRss = 0;
    let cpuTicks = 0; // utime + stime of the child (all threads), last seen
    const poll = setInterval(async () => {
      const s = await readFile(`/proc/${p.pid}/status`, "utf8").catch(() => "");
      const kb = Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0);
      if (kb > maxRss) maxRss = kb;
      const st = await readFile(`/proc/${p.pid}/stat`, "utf8").catch(() => "");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      if (f.length > 13) cpuTicks = Math.max(cpuTicks, Number(f[11]) + Number(f[12]));
    }, 50);
    p.on("exit", (code) => {
      clearInterval(poll);
      // CPU seconds (clock ticks of 1/100 s), sampled every 50 ms: the last 50 ms of a run are not counted.
      res({
        ms: performance.now() - t0,
        maxRssMiB: Math.round(maxRss / 1024),
        cpuS: cpuTicks / 100,
        code,
        out,
      });
    });
  });
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
