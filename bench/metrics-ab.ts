// bench/metrics-ab: paired A/B of the metrics pipeline, an older checkout (A) against this one (B).
//   git worktree add /tmp/old <commit> && ln -s $PWD/node_modules /tmp/old/node_modules
//   bun run scripts/build.ts /tmp/old-airuntime && bun run scripts/build.ts /tmp/new-airuntime
//   bun run bench/metrics-ab.ts /tmp/old /tmp/old-airuntime /tmp/new-airuntime [rounds]
// Load on a shared machine moves absolute figures by 2x; A and B alternate round by round, so each round's
// B/A ratio sees the same load. Printed: per round and the median of the ratios, for
//  1. in process: CPU of parse+standardize+render of the same 4,592-series text, A's modules vs B's;
//  2. the binary's main-thread CPU per poll (10 polls/s, /proc, fetch included), A's binary vs B's;
//  3. /metrics latency p50/p99 (sequential scrapes), A's binary vs B's.
import { readFileSync } from "node:fs";
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
const text = vllmExposition(16);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const f = (n: number, d = 2) => n.toFixed(d);

type Stage = "all" | "parse" | "standardize" | "render";
/** A checkout's whole poll (parse + standardize + render) and each stage alone, on `text`. */
async function pipeline(root: string, text: string): Promise<Record<Stage, () => unknown>> {
  const m = (p: string) => import(resolve(root, p));
  const { parseExposition } = await m("metrics/parse.ts");
  const { rulesFor } = await m("metrics/rules.ts");
  const { buildSnapshot } = await m("metrics/snapshot.ts");
  const { modelNameIn, standardize } = await m("metrics/standardize.ts");
  const rules = rulesFor("vllm");
  const std = (p: { byName: unknown; families: unknown }) =>
    standardize(p.byName, rules, { modelName: modelNameIn(p.families) });
  const render = (p: { families: unknown }, standard: unknown) =>
    buildSnapshot({
      endpoints: [{ rank: 0, raw: p.families, standard, scrapedAt: Date.now() }],
      endpointCount: 1,
      mode: "default",
      rules,
      reserved: new Set(),
      staleAfterMs: 5000,
      now: Date.now(),
    }).body("text");
  const parsed = parseExposition(text);
  const standard = std(parsed);
  return {
    all: () => {
      const p = parseExposition(text);
      return render(p, std(p));
    },
    parse: () => parseExposition(text),
    standardize: () => std(parsed),
    render: () => render(parsed, standard),
  };
}

function cpuMs(reps: number, fn: () => void): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / reps;
}

function mainThreadCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

console.log(
  `bench/metrics-ab ${new Date().toISOString()} A=${oldTree} (${oldBin}) B=. (${newBin}), ${rounds} rounds`,
);

// 1. In process: the whole poll, then each stage, A's modules and B's alternating (which goes first too).
{
  const a = await pipeline(oldTree, text);
  const b = await pipeline(resolve(import.meta.dir, ".."), text);
  for (let i = 0; i < 60; i++) {
    // JIT warm-up of both
    a.all();
    b.all();
  }
  for (const stage of ["all", "parse", "standardize", "render"] as const) {
    const ratios: number[] = [];
    let sumA = 0;
    let sumB = 0;
    for (let r = 0; r < rounds * 2; r++) {
      const x = cpuMs(30, r % 2 === 0 ? a[stage] : b[stage]);
      const y = cpuMs(30, r % 2 === 0 ? b[stage] : a[stage]);
      const [ta, tb] = r % 2 === 0 ? [x, y] : [y, x];
      sumA += ta;
      sumB += tb;
      ratios.push(tb / ta);
      if (stage === "all")
        console.log(`in-process round ${r + 1}: A ${f(ta, 3)} ms  B ${f(tb, 3)} ms  B/A ${f(tb / ta, 3)}`);
    }
    const what = stage === "all" ? "parse+standardize+render" : stage;
    console.log(
      `in-process ${what}, 4,592 series: mean A ${f(sumA / ratios.length, 3)} ms, B ${f(sumB / ratios.length, 3)} ms, median B/A ${f(median(ratios), 3)}`,
    );
  }
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
