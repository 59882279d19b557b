// bench/metrics-ab: paired A/B of the metrics pipeline, an older checkout (A) against this one (B).
//   git worktree add /tmp/old <commit> && ln -s $PWD/node_modules /tmp/old/node_modules
//   bun run scripts/build.ts /tmp/old-airuntime && bun run scripts/build.ts /tmp/new-airuntime
//   bun run bench/metrics-ab.ts /tmp/old /tmp/old-airuntime /tmp/new-airuntime [rounds]
// Load on a shared machine moves absolute figures by 2x; A and B alternate round by round, so each round's
// B/A ratio sees the same load. Printed: per round and the median of the ratios, for
//  1. in process: CPU of parse+standardize+render of the same 4,592-series text, A's modules vs B's;
//  2. the binary's main-thread CPU per poll (10 polls/s, /proc, fetch included), A's binary vs B's;
//  3. /metrics latency p50/p99 (sequential scrapes), A's binary vs B's.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { startSidecar } from "../tests/helpers/sidecar.ts";
import { vllmExposition } from "./metrics.ts";

const [oldTree, oldBin, newBin, roundsArg] = process.argv.slice(2);
if (!oldTree || !oldBin || !newBin) {
  console.error("usage: bun run bench/metrics-ab.ts <old checkout> <old binary> <new binary> [rounds]");
  process.exit(2);
}
const rounds = Number(roundsArg ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const f = (n: number, d = 2) => n.toFixed(d);

// biome-ignore lint/suspicious/noExplicitAny: two checkouts' modules, typed alike
async function pipeline(root: string): Promise<(text: string) => void> {
  const m = (p: string) => import(resolve(root, p));
  const { parseExposition } = await m("metrics/parse.ts");
  const { rulesFor } = await m("metrics/rules.ts");
  const { buildSnapshot } = await m("metrics/snapshot.ts");
  const { modelNameIn, standardize } = await m("metrics/standardize.ts");
  const rules = rulesFor("vllm");
  return (text) => {
    const p = parseExposition(text);
    const standard = standardize(p.byName, rules, { modelName: modelNameIn(p.families) });
    buildSnapshot({
      endpoints: [{ rank: 0, raw: p.families, standard, scrapedAt: Date.now() }],
      endpointCount: 1,
      mode: "default",
      rules,
      reserved: new Set(),
      staleAfterMs: 5000,
      now: Date.now(),
    }).body("text");
  };
}

function cpuMs(reps: number, fn: () => void): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / reps;
}

function mainThreadCpuMs(pid: number): number {
  const stat = require("node:fs").readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8") as string;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const text = vllmExposition(16);
console.log(
  `bench/metrics-ab ${new Date().toISOString()} A=${oldTree} (${oldBin}) B=. (${newBin}), ${rounds} rounds`,
);

// 1. In process.
{
  const a = await pipeline(oldTree);
  const b = await pipeline(resolve(import.meta.dir, ".."));
  for (let i = 0; i < 60; i++) a(text), b(text); // JIT warm-up of both
  const ratios: number[] = [];
  for (let r = 0; r < rounds * 2; r++) {
    const first = r % 2 === 0 ? a : b; // alternate which goes first too
    const second = first === a ? b : a;
    const x = cpuMs(30, () => first(text));
    const y = cpuMs(30, () => second(text));
    const [ta, tb] = first === a ? [x, y] : [y, x];
    ratios.push(tb / ta);
    console.log(`in-process round ${r + 1}: A ${f(ta, 3)} ms  B ${f(tb, 3)} ms  B/A ${f(tb / ta, 3)}`);
  }
  console.log(`in-process parse+standardize+render, 4,592 series: median B/A ${f(median(ratios), 3)}`);
}

// 2 and 3. The binaries, against one engine that changes one value per request.
let seq = 0;
const engine = createServer((_req, res) => {
  res.setHeader("content-type", "text/plain; version=0.0.4");
  res.end(text.replace("vllm:num_preemptions_total{", `vllm:num_preemptions_total{seq="${seq++ % 2}",`));
});
await new Promise<void>((r) => engine.listen(0, "127.0.0.1", r));
const endpoint = `http://127.0.0.1:${(engine.address() as AddressInfo).port}`;

async function pollCpu(bin: string): Promise<number> {
  const s = await startSidecar(
    {
      INFERENCE_ENGINE: "vllm",
      INFERENCE_ENGINE_ENDPOINT: endpoint,
      AIRUNTIME_METRICS_INTERVAL: "0.1",
      AIRUNTIME_READY_INTERVAL: "5",
    },
    [],
    bin,
  );
  try {
    await new Promise((r) => setTimeout(r, 5000)); // JIT settles
    const c0 = mainThreadCpuMs(s.proc.pid!);
    const s0 = seq;
    await new Promise((r) => setTimeout(r, 5000));
    return (mainThreadCpuMs(s.proc.pid!) - c0) / (seq - s0);
  } finally {
    await s.stop("SIGKILL");
  }
}

async function latency(bin: string, n: number): Promise<{ metrics: number[]; healthz: number[] }> {
  const s = await startSidecar({ INFERENCE_ENGINE: "vllm", INFERENCE_ENGINE_ENDPOINT: endpoint }, [], bin);
  try {
    for (let i = 0; i < 200; i++) {
      if ((await (await fetch(`${s.url}/metrics`)).text()).includes("aibrix:queue_size")) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    for (let i = 0; i < 100; i++) await (await fetch(`${s.url}/metrics`)).arrayBuffer(); // warm-up
    const timed = async (path: string) => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await (await fetch(`${s.url}${path}`)).arrayBuffer();
        ms.push(performance.now() - t0);
      }
      return ms;
    };
    return { metrics: await timed("/metrics"), healthz: await timed("/healthz") };
  } finally {
    await s.stop("SIGKILL");
  }
}

const cpuRatios: number[] = [];
const p50Ratios: number[] = [];
const p99Ratios: number[] = [];
const hz50Ratios: number[] = [];
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? [oldBin, newBin] : [newBin, oldBin];
  const cpu: Record<string, number> = {};
  for (const bin of order) cpu[bin] = await pollCpu(bin);
  const lat: Record<string, { metrics: number[]; healthz: number[] }> = {};
  for (const bin of order) lat[bin] = await latency(bin, 1000);
  const [ca, cb] = [cpu[oldBin]!, cpu[newBin]!];
  const [la, lb] = [lat[oldBin]!.metrics, lat[newBin]!.metrics];
  const [ha, hb] = [lat[oldBin]!.healthz, lat[newBin]!.healthz];
  hz50Ratios.push(pct(hb, 50) / pct(ha, 50));
  cpuRatios.push(cb / ca);
  p50Ratios.push(pct(lb, 50) / pct(la, 50));
  p99Ratios.push(pct(lb, 99) / pct(la, 99));
  console.log(
    `binary round ${r + 1}: main-thread CPU/poll A ${f(ca)} B ${f(cb)} ms (B/A ${f(cb / ca, 3)}); /metrics p50 A ${f(pct(la, 50))} B ${f(pct(lb, 50))} ms, p99 A ${f(pct(la, 99))} B ${f(pct(lb, 99))} ms; /healthz p50 A ${f(pct(ha, 50))} B ${f(pct(hb, 50))} ms`,
  );
}
console.log(
  `binary, 4,592 series: median B/A main-thread CPU per poll ${f(median(cpuRatios), 3)}; /metrics p50 ${f(median(p50Ratios), 3)}, p99 ${f(median(p99Ratios), 3)}; /healthz p50 ${f(median(hz50Ratios), 3)}`,
);
engine.closeAllConnections();
engine.close();
