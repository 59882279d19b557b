// For every mock personality, the sidecar's /metrics (in process, app.request): passes `promtool check metrics` (no parse
// error; no lint finding but "should not contain ':'", beyond those the engine's own names already carry
// in passthrough), holds no series or family twice, and its standardized families equal what this test
// computes from the mock's raw output (unit conversions included). The mock runs frozen (tickMs huge), so
// the sidecar's poll and this test read the same state.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { MOCK_ENGINES, type MockEngine, type MockEngineName, startMockEngine } from "../mock/index.ts";
import { checkMetrics, promtool } from "./helpers/promtool.ts";
import { type InProcessSidecar, startInProcess } from "./helpers/inproc.ts";
import { waitUntil } from "./helpers/sidecar.ts";

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A deliberately simple reader (independent of metrics/parse.ts): one sample per non-comment line. */
function series(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const v = m[3]!;
    out.push({ name: m[1]!, labels, value: v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : Number(v) });
  }
  return out;
}

const sum = (xs: Series[], name: string, match: Record<string, string> = {}) => {
  const hit = xs.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  return hit.length === 0 ? undefined : hit.reduce((n, s) => n + s.value, 0);
};
const labelNum = (xs: Series[], name: string, label: string) => {
  const s = xs.find((x) => x.name === name);
  return s ? Number(s.labels[label]) : undefined;
};

const ratio = (a?: number, b?: number) => (a === undefined || !b ? undefined : a / b);
const plus = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : a + b);

type Expect = (raw: Series[]) => Record<string, number | undefined>;

/** What each aibrix family must hold, computed from the engine's raw exposition (reference/ENGINES.md §8). */
const EXPECTED: Record<MockEngineName, Expect> = {
  vllm: (r) => ({
    "aibrix:queue_size": sum(r, "vllm:num_requests_waiting"),
    "aibrix:num_requests_running": sum(r, "vllm:num_requests_running"),
    "aibrix:kv_cache_usage_perc": sum(r, "vllm:kv_cache_usage_perc"),
    "aibrix:prompt_tokens_total": sum(r, "vllm:prompt_tokens_total"),
    "aibrix:generation_tokens_total": sum(r, "vllm:generation_tokens_total"),
    "aibrix:request_success_total": sum(r, "vllm:request_success_total"),
    "aibrix:prefix_cache_hits_total": sum(r, "vllm:prefix_cache_hits_total"),
    "aibrix:prefix_cache_queries_total": sum(r, "vllm:prefix_cache_queries_total"),
    "aibrix:time_to_first_token_seconds_count": sum(r, "vllm:time_to_first_token_seconds_count"),
    "aibrix:time_to_first_token_seconds_sum": sum(r, "vllm:time_to_first_token_seconds_sum"),
    "aibrix:inter_token_latency_seconds_count": sum(r, "vllm:inter_token_latency_seconds_count"),
    "aibrix:e2e_request_latency_seconds_sum": sum(r, "vllm:e2e_request_latency_seconds_sum"),
    "aibrix:kv_cache_block_size": labelNum(r, "vllm:cache_config_info", "block_size"),
    "aibrix:kv_cache_num_blocks": labelNum(r, "vllm:cache_config_info", "num_gpu_blocks"),
  }),
  sglang: (r) => ({
    "aibrix:queue_size": sum(r, "sglang:num_queue_reqs"),
    "aibrix:num_requests_running": sum(r, "sglang:num_running_reqs"),
    "aibrix:kv_cache_usage_perc": sum(r, "sglang:token_usage"),
    "aibrix:prompt_tokens_total": sum(r, "sglang:prompt_tokens_total"),
    "aibrix:generation_tokens_total": sum(r, "sglang:generation_tokens_total"),
    "aibrix:request_success_total": sum(r, "sglang:num_requests_total"),
    "aibrix:time_to_first_token_seconds_count": sum(r, "sglang:time_to_first_token_seconds_count"),
    "aibrix:e2e_request_latency_seconds_sum": sum(r, "sglang:e2e_request_latency_seconds_sum"),
    "aibrix:prefix_cache_hits_total": sum(r, "sglang:cached_tokens_total", { cache_source: "total" }),
    "aibrix:prefix_cache_queries_total": sum(r, "sglang:prompt_tokens_total"),
    "aibrix:inter_token_latency_seconds_count": sum(r, "sglang:inter_token_latency_seconds_count"),
    "aibrix:kv_cache_block_size": labelNum(r, "sglang:cache_config_info", "page_size"),
    "aibrix:kv_cache_num_blocks": labelNum(r, "sglang:cache_config_info", "num_pages"),
  }),
  llamacpp: (r) => {
    const tps = sum(r, "llamacpp:predicted_tokens_seconds");
    return {
      "aibrix:queue_size": sum(r, "llamacpp:requests_deferred"),
      "aibrix:num_requests_running": sum(r, "llamacpp:requests_processing"),
      "aibrix:prompt_tokens_total": sum(r, "llamacpp:prompt_tokens_total"),
      "aibrix:generation_tokens_total": sum(r, "llamacpp:tokens_predicted_total"),
      "aibrix:avg_time_per_output_token_seconds": tps && tps > 0 ? 1 / tps : undefined,
    };
  },
  tgi: (r) => ({
    "aibrix:queue_size": sum(r, "tgi_queue_size"),
    "aibrix:num_requests_running": sum(r, "tgi_batch_current_size"),
    // TGI has no token counters: they come from the histograms' _sum series.
    "aibrix:prompt_tokens_total": sum(r, "tgi_request_input_length_sum"),
    "aibrix:generation_tokens_total": sum(r, "tgi_request_generated_tokens_sum"),
    "aibrix:request_success_total": sum(r, "tgi_request_success"),
    "aibrix:e2e_request_latency_seconds_count": sum(r, "tgi_request_duration_count"),
    "aibrix:time_per_output_token_seconds_sum": sum(r, "tgi_request_mean_time_per_token_duration_sum"),
    "aibrix:kv_cache_usage_perc": ratio(
      sum(r, "tgi_batch_current_max_tokens"),
      sum(r, "tgi_batch_max_total_tokens"),
    ),
  }),
  trtllm: (r) => ({
    "aibrix:queue_size": sum(r, "trtllm_num_requests_waiting"),
    "aibrix:num_requests_running": sum(r, "trtllm_num_requests_running"),
    "aibrix:kv_cache_usage_perc": sum(r, "trtllm_kv_cache_utilization"),
    "aibrix:request_success_total": sum(r, "trtllm_request_success_total"),
    "aibrix:prompt_tokens_total": sum(r, "trtllm_prompt_tokens_total"),
    "aibrix:generation_tokens_total": sum(r, "trtllm_generation_tokens_total"),
    "aibrix:prefix_cache_hits_total": sum(r, "trtllm_kv_cache_reused_blocks_total"),
    "aibrix:prefix_cache_queries_total": plus(
      sum(r, "trtllm_kv_cache_reused_blocks_total"),
      sum(r, "trtllm_kv_cache_missed_blocks_total"),
    ),
    "aibrix:time_to_first_token_seconds_count": sum(r, "trtllm_time_to_first_token_seconds_count"),
    "aibrix:kv_cache_block_size": sum(r, "trtllm_kv_cache_tokens_per_block"),
    "aibrix:kv_cache_num_blocks": sum(r, "trtllm_kv_cache_max_blocks"),
  }),
  triton: (r) => {
    const ms = sum(r, "nv_inference_first_response_histogram_ms_sum");
    const us = sum(r, "nv_inference_request_duration_us");
    const qus = sum(r, "nv_inference_queue_duration_us");
    return {
      "aibrix:queue_size":
        sum(r, "nv_trt_llm_request_metrics", { request_type: "waiting" }) ??
        sum(r, "nv_inference_pending_request_count"),
      "aibrix:request_success_total": sum(r, "nv_inference_request_success"),
      // µs counters and the ms histogram become seconds.
      "aibrix:request_duration_seconds_total": us === undefined ? undefined : us / 1e6,
      "aibrix:request_queue_duration_seconds_total": qus === undefined ? undefined : qus / 1e6,
      "aibrix:time_to_first_token_seconds_sum": ms === undefined ? undefined : ms / 1000,
      "aibrix:time_to_first_token_seconds_count": sum(r, "nv_inference_first_response_histogram_ms_count"),
      "aibrix:kv_cache_usage_perc": sum(r, "nv_trt_llm_kv_cache_block_metrics", {
        kv_cache_block_type: "fraction",
      }),
    };
  },
};

const notColon = (f: string) => !f.endsWith("metric names should not contain ':'");

function duplicates(text: string): string[] {
  const seen = new Set<string>();
  const dup: string[] = [];
  for (const s of series(text)) {
    const key = `${s.name}{${Object.entries(s.labels)
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join(",")}}`;
    if (seen.has(key)) dup.push(key);
    seen.add(key);
  }
  const types = text.split("\n").filter((l) => l.startsWith("# TYPE "));
  const names = types.map((l) => l.split(" ")[2]);
  for (const n of names) if (names.indexOf(n) !== names.lastIndexOf(n)) dup.push(`family ${n}`);
  return dup;
}

const started: Array<{ stop(): Promise<unknown> }> = [];
afterAll(async () => {
  for (const s of started.reverse()) await s.stop();
});

async function sidecarFor(
  mock: MockEngine,
  engine: MockEngineName,
  env: Record<string, string> = {},
): Promise<InProcessSidecar> {
  const metricsOrigin = new URL(mock.metricsUrl).origin;
  const p = await startInProcess({
    INFERENCE_ENGINE: engine,
    INFERENCE_ENGINE_ENDPOINT: mock.url,
    // Triton serves Prometheus on its own port: a full URL, as AIBrix's urljoin allows.
    ...(metricsOrigin !== new URL(mock.url).origin ? { METRIC_SCRAPE_PATH: mock.metricsUrl } : {}),
    AIRUNTIME_METRICS_INTERVAL: "0.05",
    ...env,
  });
  started.push(p);
  return p;
}

/** What each personality test scraped (raw engine text, sidecar text per mode), for the promtool checks. */
const scraped = new Map<MockEngineName, { raw: string; modes: Array<["default" | "standard", string]> }>();

/** promtool findings on the sidecar's text beyond ':' and (default mode) the engine's own passthrough. */
function extraFindings(text: string, raw: string, passthrough: boolean): string[] {
  const check = checkMetrics(text);
  // A lint finding reads "<metric name> <problem>": judge the problem only (names such as
  // aibrix:engine_scrape_errors_total contain "error" themselves).
  const problem = (f: string) => f.replace(/^\S+\s/, "");
  expect(check.findings.filter((f) => /error|parse|unexpected|invalid/i.test(problem(f)))).toEqual([]);
  const own = new Set(checkMetrics(raw).findings);
  return check.findings.filter(notColon).filter((f) => !passthrough || !own.has(f));
}

describe("standardized metrics for every mock personality", () => {
  for (const engine of MOCK_ENGINES) {
    test(`${engine}: no duplicates, aibrix values equal the raw output`, async () => {
      const model = `mock-${engine}-model`;
      const mock = await startMockEngine({ engine, port: 0, tickMs: 1e9, model, seed: 7 });
      started.push(mock);
      await mock.whenReady();
      mock.step(60); // simulated traffic (trtllm's gauges appear only after some)
      const raw = await (await fetch(mock.metricsUrl)).text();
      const rawSeries = series(raw);
      const want = EXPECTED[engine](rawSeries);
      // The personality must expose enough sources for this to mean something.
      expect(Object.values(want).filter((v) => v !== undefined).length).toBeGreaterThanOrEqual(5);
      const modes: Array<["default" | "standard", string]> = [];
      scraped.set(engine, { raw, modes });

      for (const mode of ["default", "standard"] as const) {
        const sidecar = await sidecarFor(mock, engine, { AIRUNTIME_METRICS_MODE: mode });
        // Ready once the standardized queue size carries the model name (TGI, llama.cpp: resolved via /v1/models).
        const text = await waitUntil(async () => {
          const t = await (await sidecar.app.request("/metrics")).text();
          return (
            series(t).some((s) => s.name === "aibrix:queue_size" && s.labels.model_name !== undefined) && t
          );
        }, 10_000);
        const got = series(text as string);
        modes.push([mode, text as string]);
        expect(duplicates(text as string)).toEqual([]);

        for (const [name, value] of Object.entries(want)) {
          if (value === undefined) continue; // the engine does not expose that source in this personality
          const v = sum(got, name);
          expect({ name, value: v }).toEqual({ name, value: expect.closeTo(value, 9) as unknown as number });
        }
        // Every standardized engine family carries the model's name (LoRA info has exactly its three labels).
        for (const s of got.filter((x) => x.name.startsWith("aibrix:") && EXPECTED_NAMES.has(x.name)))
          expect({ name: s.name, model: s.labels.model_name ?? s.labels.model }).toEqual({
            name: s.name,
            model: expect.any(String) as unknown as string,
          });
        const rawNames = new Set(rawSeries.map((s) => s.name));
        const hasEngineFamily = got.some((s) => rawNames.has(s.name));
        expect(hasEngineFamily).toBe(mode === "default");
        expect(got.some((s) => s.name === "aibrix:engine_up" && s.value === 1)).toBe(true);
      }
    }, 30_000);

    promtool.test(`${engine}: promtool finds nothing new in either mode`, () => {
      const s = scraped.get(engine);
      if (s?.modes.length !== 2) throw new Error(`${engine}: the test above did not scrape both modes`);
      for (const [mode, text] of s.modes)
        expect({ mode, extra: extraFindings(text, s.raw, mode === "default") }).toEqual({ mode, extra: [] });
    });
  }
});

const EXPECTED_NAMES = new Set([
  "aibrix:queue_size",
  "aibrix:num_requests_running",
  "aibrix:prompt_tokens_total",
  "aibrix:generation_tokens_total",
  "aibrix:request_success_total",
]);

// The mock's Triton has no nv_inference_first_response_histogram_ms (opt-in in Triton): serve the fixture.
const TRITON_FIXTURE = readFileSync(new URL("../metrics/fixtures/triton.prom", import.meta.url), "utf8");
let tritonText: string | undefined;

test("Triton (fixture with the opt-in ms histogram): bucket bounds, sums and µs counters become seconds", async () => {
  const fixture = TRITON_FIXTURE;
  const server = createServer((_req, res) => res.end(fixture));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  started.push({ stop: () => new Promise((r) => server.close(r)) });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sidecar = await startInProcess({
    INFERENCE_ENGINE: "triton",
    INFERENCE_ENGINE_ENDPOINT: url,
    METRIC_SCRAPE_PATH: `${url}/metrics`,
    AIRUNTIME_METRICS_INTERVAL: "0.05",
  });
  started.push(sidecar);
  const raw = series(fixture);
  const text = (await waitUntil(async () => {
    const t = await (await sidecar.app.request("/metrics")).text();
    return t.includes("aibrix:time_to_first_token_seconds_bucket") && t;
  })) as string;
  tritonText = text;
  const got = series(text);
  const bounds = (xs: Series[], n: string) =>
    xs.filter((s) => s.name === n).map((s) => [s.labels.le, s.value]);
  // The fixture has the histogram, so the comparison below is about real buckets.
  expect(bounds(raw, "nv_inference_first_response_histogram_ms_bucket").length).toBeGreaterThanOrEqual(3);
  expect(bounds(got, "aibrix:time_to_first_token_seconds_bucket")).toEqual(
    bounds(raw, "nv_inference_first_response_histogram_ms_bucket").map(([le, v]) => [
      le === "+Inf" ? le : String(Number(le) / 1000),
      v,
    ]),
  );
  expect(sum(got, "aibrix:time_to_first_token_seconds_sum")).toBe(
    sum(raw, "nv_inference_first_response_histogram_ms_sum")! / 1000,
  );
  expect(sum(got, "aibrix:request_duration_seconds_total")).toBe(
    sum(raw, "nv_inference_request_duration_us")! / 1e6,
  );
}, 20_000);

promtool.test("Triton (fixture): promtool finds nothing beyond ':' and the fixture's own names", () => {
  if (!tritonText) throw new Error("the Triton test above did not scrape the sidecar");
  // The fixture's own lint findings exist (Triton's names break conventions), so the filter is not vacuous.
  expect(checkMetrics(TRITON_FIXTURE).status).toBe(3);
  expect(extraFindings(tritonText, TRITON_FIXTURE, true)).toEqual([]);
});
