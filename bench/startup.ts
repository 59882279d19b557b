// bench/startup: time from spawn to the first /healthz 200, and idle RSS, for dist/airuntime next to a bare
// Hono app compiled the same way (the floor for this stack), measured interleaved in one run.
// Usage: npm run build && bun bench/startup.ts [runs=20] [base-bin]
// With base-bin (an older build), it is measured interleaved too, for a paired before/after.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { freePort } from "../tests/helpers/ports.ts";

const runs = Number(process.argv[2] ?? 20);
const baseBin = process.argv[3];
const bare = "/tmp/airuntime-bench-bare-hono";
const b = spawnSync(
  process.execPath,
  ["build", "--compile", "--minify", "bench/fixtures/bare-hono.ts", "--outfile", bare],
  {
    stdio: "ignore",
  },
);
if (b.status !== 0) throw new Error("could not build the baseline");

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0);
}

async function once(bin: string): Promise<{ ms: number; rssMiB: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(bin, ["--host", "127.0.0.1", "--port", String(port)], {
    stdio: "ignore",
    env: { INFERENCE_ENGINE_ENDPOINT: "http://127.0.0.1:9", PATH: process.env.PATH },
  });
  let ms = 0;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) {
        ms = performance.now() - t0;
        break;
      }
    } catch {}
    if (performance.now() - t0 > 5000) throw new Error(`${bin} did not answer`);
    await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise((r) => setTimeout(r, 1500)); // idle: background probes have run a few times
  const rssMiB = rssKiB(child.pid!) / 1024;
  child.kill("SIGKILL");
  return { ms, rssMiB };
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const bins: Array<[string, string]> = [
  ["airuntime", "dist/airuntime"],
  ["bare-hono", bare],
  ...(baseBin ? [["base", baseBin] as [string, string]] : []),
];
const res: Record<string, { ms: number[]; rss: number[] }> = Object.fromEntries(
  bins.map(([name]) => [name, { ms: [], rss: [] }]),
);
for (let i = 0; i < runs; i++) {
  for (const [name, bin] of bins) {
    const r = await once(bin);
    res[name]!.ms.push(r.ms);
    res[name]!.rss.push(r.rssMiB);
  }
}
const a = res.airuntime!;
const h = res["bare-hono"]!;
console.log(`runs=${runs} (interleaved)`);
for (const [name, r] of Object.entries(res))
  console.log(
    `${name.padEnd(10)} first /healthz p50 ${pct(r.ms, 50).toFixed(1)} ms  p90 ${pct(r.ms, 90).toFixed(1)} ms   idle RSS p50 ${pct(r.rss, 50).toFixed(1)} MiB`,
  );
console.log(
  `ratio airuntime/bare-hono: startup ${(pct(a.ms, 50) / pct(h.ms, 50)).toFixed(2)}x, RSS ${(pct(a.rss, 50) / pct(h.rss, 50)).toFixed(2)}x`,
);
if (baseBin) {
  const base = res.base!;
  console.log(
    `ratio airuntime/base: startup ${(pct(a.ms, 50) / pct(base.ms, 50)).toFixed(2)}x, RSS ${(pct(a.rss, 50) / pct(base.rss, 50)).toFixed(2)}x`,
  );
}
console.log(
  `targets: first /healthz < 50 ms -> ${pct(a.ms, 50) < 50 ? "met" : "MISSED"}; idle RSS < 45 MB -> ${pct(a.rss, 50) * 1.048576 < 45 ? "met" : "MISSED"}`,
);
