// bench/metrics: the metrics pipeline on vLLM-like expositions of ~306 and ~5,000 series.
//   bun run bench/metrics.ts            (uses $AIRUNTIME_BIN or dist/airuntime)
// Prints, each next to a baseline measured in the same run:
//  - CPU of one poll in process (parse + rules + render), vs Python prometheus_client's parser (the one the
//    AIBrix runtime uses) on the same text, when /usr/bin/python3 has it (Debian python3-prometheus-client);
//  - /metrics latency p50/p99 over HTTP against the compiled binary, vs fetching the raw engine text;
//  - the binary's CPU per poll at idle (fetch included) and its RSS over 10,000 scrapes.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseExposition } from "../metrics/parse.ts";
import { rulesFor } from "../metrics/rules.ts";
import { buildSnapshot } from "../metrics/snapshot.ts";
import { modelNameIn, standardize } from "../metrics/standardize.ts";
import { startSidecar } from "../tests/helpers/sidecar.ts";

const E2E = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];
const TTFT = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640,
  2560,
];
const ITL = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const TOKENS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];
const ITER = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

/** A vLLM V1 exposition (names, types, buckets of reference/ENGINES.md §1.3) with `engines` DP ranks. */
export function vllmExposition(engines: number): string {
  const out: string[] = [];
  const py = (v: number) => (Number.isInteger(v) ? `${v}.0` : String(v));
  const ls = (e: number, extra = "") =>
    `{engine="${e}",${extra}model_name="meta-llama/Llama-3.1-8B-Instruct"}`;
  const fam = (name: string, type: string, help: string, body: (e: number) => string[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (let e = 0; e < engines; e++) out.push(...body(e));
  };
  const gauge = (name: string, v: (e: number) => number) =>
    fam(name, "gauge", `${name} gauge.`, (e) => [`${name}${ls(e)} ${py(v(e))}`]);
  const counter = (name: string, v: (e: number) => number) =>
    fam(name, "counter", `${name} counter.`, (e) => [`${name}${ls(e)} ${py(v(e))}`]);
  const hist = (name: string, bounds: number[]) =>
    fam(name, "histogram", `Histogram of ${name}.`, (e) => {
      const lines: string[] = [];
      let c = 0;
      for (const b of bounds) {
        c += e + 1;
        lines.push(`${name}_bucket${ls(e, `le="${py(b)}",`)} ${py(c)}`);
      }
      lines.push(`${name}_bucket${ls(e, 'le="+Inf",')} ${py(c + 1)}`);
      lines.push(`${name}_count${ls(e)} ${py(c + 1)}`, `${name}_sum${ls(e)} ${py(c * 0.37)}`);
      return lines;
    });
  gauge("vllm:num_requests_running", (e) => e + 1);
  gauge("vllm:num_requests_waiting", (e) => e * 2);
  gauge("vllm:kv_cache_usage_perc", (e) => 0.1 + e / 100);
  for (const c of [
    "vllm:prefix_cache_queries_total",
    "vllm:prefix_cache_hits_total",
    "vllm:num_preemptions_total",
    "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total",
    "vllm:mm_cache_queries_total",
    "vllm:mm_cache_hits_total",
    "vllm:corrupted_requests_total",
  ])
    counter(c, (e) => 1000 * (e + 1));
  fam("vllm:request_success_total", "counter", "Count of successfully processed requests.", (e) =>
    ["stop", "length", "abort"].map(
      (r) => `vllm:request_success_total${ls(e, `finished_reason="${r}",`)} ${py(e + 7)}`,
    ),
  );
  hist("vllm:time_to_first_token_seconds", TTFT);
  hist("vllm:inter_token_latency_seconds", ITL);
  hist("vllm:request_time_per_output_token_seconds", ITL);
  for (const h of [
    "e2e_request_latency",
    "request_queue_time",
    "request_inference_time",
    "request_prefill_time",
    "request_decode_time",
  ])
    hist(`vllm:${h}_seconds`, E2E);
  for (const h of [
    "request_prompt_tokens",
    "request_generation_tokens",
    "request_max_num_generation_tokens",
    "request_params_max_tokens",
  ])
    hist(`vllm:${h}`, TOKENS);
  hist("vllm:iteration_tokens_total", ITER);
  hist("vllm:request_params_n", [1, 2, 5, 10, 20]);
  return out.join("\n") + "\n";
}

const seriesOf = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("#")).length;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const f = (n: number, d = 2) => n.toFixed(d);

function cpuMsPerRun(reps: number, fn: () => void): number {
  for (let i = 0; i < Math.max(50, reps / 2); i++) fn(); // JIT warm-up: compile time is not per-poll cost
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / reps;
}

function pythonParseMs(text: string, reps: number): number | undefined {
  const file = `/tmp/airuntime-bench-metrics-${process.pid}.prom`;
  writeFileSync(file, text);
  const py = `
import time, sys
from prometheus_client.parser import text_string_to_metric_families
t = open(sys.argv[1]).read()
for _ in range(3): list(text_string_to_metric_families(t))
c0 = time.process_time()
for _ in range(${reps}): list(text_string_to_metric_families(t))
print((time.process_time() - c0) * 1000 / ${reps})`;
  const r = spawnSync("/usr/bin/python3", ["-c", py, file], { encoding: "utf8" });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}

/** CPU ms per thread name (threads of the same name summed), from /proc. */
function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
      const name = readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim().replace(/\d+$/, "");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out[name] = (out[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      // the thread ended between listing and reading
    }
  }
  return out;
}

function procStat(pid: number): { rssKiB: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15)
  return { rssKiB, cpuMs: ticks * 10 };
}

async function timedGets(url: string, n: number, headers: Record<string, string> = {}): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await fetch(url, { headers });
    await r.arrayBuffer();
    ms.push(performance.now() - t0);
  }
  return ms;
}

async function scenario(engines: number, opts: { rssScrapes: number; latencyN: number; cpuReps: number }) {
  const text = vllmExposition(engines);
  const series = seriesOf(text);
  console.log(
    `\n## ${series} series (${(text.length / 1024).toFixed(0)} KiB), vLLM-like, ${engines} DP rank(s)`,
  );

  // 1. CPU of one poll in process: parse + rules + render (fetch excluded).
  const rules = rulesFor("vllm");
  const poll = () => {
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
  const pollMs = cpuMsPerRun(opts.cpuReps, poll);
  const parseMs = cpuMsPerRun(opts.cpuReps, () => parseExposition(text));
  const pyMs = pythonParseMs(text, Math.max(5, Math.round(opts.cpuReps / 10)));
  console.log(`poll CPU (parse+rules+render): ${f(pollMs, 3)} ms   (parse alone ${f(parseMs, 3)} ms)`);
  if (pyMs !== undefined)
    console.log(
      `  baseline python prometheus_client parse only: ${f(pyMs, 2)} ms  -> ${f(pyMs / pollMs, 1)}x slower than our whole poll`,
    );
  else
    console.log(
      "  baseline python prometheus_client: not installed (apt-get install python3-prometheus-client)",
    );

  // 2. HTTP against the binary.
  let seq = 0;
  const engine = createServer((_req, res) => {
    res.setHeader("content-type", "text/plain; version=0.0.4");
    // A busy engine's counters move between polls: vary one value so every poll parses afresh
    // (the poller skips re-parsing an unchanged text).
    res.end(text.replace("vllm:num_preemptions_total{", `vllm:num_preemptions_total{seq="${seq++ % 2}",`));
  });
  await new Promise<void>((r) => engine.listen(0, "127.0.0.1", r));
  const enginePort = (engine.address() as AddressInfo).port;
  // CPU per poll of the binary, fetch included, per thread: 10 polls/s, no scrapes, after a 6 s warm-up
  // (JavaScriptCore's JIT threads are busy for the first seconds, then settle).
  {
    const fast = await startSidecar({
      INFERENCE_ENGINE: "vllm",
      INFERENCE_ENGINE_ENDPOINT: `http://127.0.0.1:${enginePort}`,
      AIRUNTIME_METRICS_INTERVAL: "0.1",
      AIRUNTIME_READY_INTERVAL: "5",
    });
    await new Promise((r) => setTimeout(r, 6000));
    const a = threadCpu(fast.proc.pid!);
    const s0 = seq;
    await new Promise((r) => setTimeout(r, 5000));
    const b = threadCpu(fast.proc.pid!);
    const polls = seq - s0;
    const per = Object.entries(b)
      .map(([k, v]) => [k, (v - (a[k] ?? 0)) / polls] as const)
      .filter(([, v]) => v > 0);
    const total = per.reduce((n, [, v]) => n + v, 0);
    const main = per.find(([k]) => k === "airuntime")?.[1] ?? 0;
    console.log(
      `binary CPU per poll, ${polls} polls (fetch, parse, rules, render, timers): main thread ${f(main, 2)} ms, all threads ${f(total, 2)} ms (${per.map(([k, v]) => `${k} ${f(v, 2)}`).join(", ")})`,
    );
    const body = await (await fetch(`${fast.url}/metrics`)).text();
    const processing = /^aibrix:metrics_poll_processing_seconds (\S+)/m.exec(body)?.[1];
    if (processing)
      console.log(`  last poll's parse+rules+render in the binary: ${f(Number(processing) * 1000, 2)} ms`);
    await fast.stop("SIGKILL");
  }

  // Latency and RSS at the default interval (1 s): scrapes interleave with polls as in production.
  const sidecar = await startSidecar({
    INFERENCE_ENGINE: "vllm",
    INFERENCE_ENGINE_ENDPOINT: `http://127.0.0.1:${enginePort}`,
  });
  try {
    const pid = sidecar.proc.pid!;
    for (let i = 0; i < 200; i++) {
      const body = await (await fetch(`${sidecar.url}/metrics`)).text();
      if (body.includes("aibrix:queue_size")) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const raw = await timedGets(`http://127.0.0.1:${enginePort}/metrics`, opts.latencyN);
    const healthz = await timedGets(`${sidecar.url}/healthz`, opts.latencyN);
    const ours = await timedGets(`${sidecar.url}/metrics`, opts.latencyN);
    const gz = await timedGets(`${sidecar.url}/metrics`, opts.latencyN, { "accept-encoding": "gzip" });
    const om = await timedGets(`${sidecar.url}/metrics`, opts.latencyN, {
      accept: "application/openmetrics-text;version=1.0.0",
    });
    console.log(
      `/metrics latency p50 ${f(pct(ours, 50))} ms, p99 ${f(pct(ours, 99))} ms   (n=${opts.latencyN}, sequential)`,
    );
    console.log(
      `  gzip p50 ${f(pct(gz, 50))} / p99 ${f(pct(gz, 99))} ms; OpenMetrics p50 ${f(pct(om, 50))} / p99 ${f(pct(om, 99))} ms`,
    );
    console.log(
      `  baseline raw engine text fetch: p50 ${f(pct(raw, 50))} ms, p99 ${f(pct(raw, 99))} ms  -> ratio p99 ${f(pct(ours, 99) / pct(raw, 99), 2)}`,
    );
    console.log(
      `  baseline the sidecar's /healthz (HTTP floor of the same process): p50 ${f(pct(healthz, 50))} ms, p99 ${f(pct(healthz, 99))} ms`,
    );

    // 3. RSS over many scrapes (4 concurrent clients).
    const rss0 = procStat(pid).rssKiB;
    const marks: string[] = [];
    let done = 0;
    const worker = async () => {
      while (done < opts.rssScrapes) {
        const n = ++done;
        await (await fetch(`${sidecar.url}/metrics`)).arrayBuffer();
        if (n % (opts.rssScrapes / 4) === 0)
          marks.push(`${n}: ${(procStat(pid).rssKiB / 1024).toFixed(1)} MiB`);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const rss1 = procStat(pid).rssKiB;
    console.log(
      `RSS over ${opts.rssScrapes} scrapes: start ${(rss0 / 1024).toFixed(1)} MiB -> end ${(rss1 / 1024).toFixed(1)} MiB (${marks.join(", ")})`,
    );
    console.log(`  baseline: RSS after warm-up = start; growth ${f(((rss1 - rss0) / rss0) * 100, 1)} %`);
  } finally {
    await sidecar.stop("SIGKILL");
    engine.closeAllConnections();
    engine.close();
  }
}

if (import.meta.main) {
  console.log(
    `bench/metrics ${new Date().toISOString()}  (AIBrix runtime on this machine, from the issue: p50 9.5-13 ms, p99 15 ms, ~12 ms CPU per scrape of 306 series)`,
  );
  const quick = process.env.BENCH_QUICK === "1";
  await scenario(1, {
    rssScrapes: quick ? 1000 : 4000,
    latencyN: quick ? 300 : 2000,
    cpuReps: quick ? 50 : 500,
  });
  await scenario(16, {
    rssScrapes: quick ? 1000 : 10000,
    latencyN: quick ? 300 : 2000,
    cpuReps: quick ? 20 : 100,
  });
}
