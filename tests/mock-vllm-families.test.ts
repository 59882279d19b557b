// The vLLM personality's metric families match reference/ENGINES.md §1.3 family by family:
// exposed name, type, label names, and the documented bucket lists.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type MockEngine, startMockEngine } from "../mock/index.ts";
import { type Family, parseProm } from "./mock-prom-lite.ts";

const ML = ["model_name", "engine"];
const E2E = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];
const TTFT = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640,
  2560,
];
const ITL = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const ITER = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
/** 1-2-5 series up to max_model_len (the mock serves max_model_len 8192). */
const B125 = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

interface Spec {
  type: "gauge" | "counter" | "histogram";
  labels: string[];
  buckets?: number[];
  /** Emitted by real vLLM only under a flag or model feature: the mock may omit it. */
  conditional?: boolean;
}

/** ENGINES.md §1.3, as a table: exposed name -> type, labels (histograms without `le`), buckets. */
export const VLLM_FAMILIES: Record<string, Spec> = {
  "vllm:num_requests_running": { type: "gauge", labels: ML },
  "vllm:num_requests_waiting": { type: "gauge", labels: ML },
  "vllm:kv_cache_usage_perc": { type: "gauge", labels: ML },
  "vllm:engine_sleep_state": { type: "gauge", labels: [...ML, "sleep_state"] },
  "vllm:prefix_cache_queries_total": { type: "counter", labels: ML },
  "vllm:prefix_cache_hits_total": { type: "counter", labels: ML },
  "vllm:external_prefix_cache_queries_total": { type: "counter", labels: ML, conditional: true },
  "vllm:external_prefix_cache_hits_total": { type: "counter", labels: ML, conditional: true },
  "vllm:mm_cache_queries_total": { type: "counter", labels: ML, conditional: true },
  "vllm:mm_cache_hits_total": { type: "counter", labels: ML, conditional: true },
  "vllm:num_preemptions_total": { type: "counter", labels: ML },
  "vllm:prompt_tokens_total": { type: "counter", labels: ML },
  "vllm:generation_tokens_total": { type: "counter", labels: ML },
  "vllm:request_success_total": { type: "counter", labels: [...ML, "finished_reason"] },
  "vllm:corrupted_requests_total": { type: "counter", labels: ML, conditional: true },
  "vllm:request_prompt_tokens": { type: "histogram", labels: ML, buckets: B125 },
  "vllm:request_generation_tokens": { type: "histogram", labels: ML, buckets: B125 },
  "vllm:iteration_tokens_total": { type: "histogram", labels: ML, buckets: ITER },
  "vllm:request_max_num_generation_tokens": { type: "histogram", labels: ML, buckets: B125 },
  "vllm:request_params_n": { type: "histogram", labels: ML, buckets: [1, 2, 5, 10, 20] },
  "vllm:request_params_max_tokens": { type: "histogram", labels: ML, buckets: B125 },
  "vllm:time_to_first_token_seconds": { type: "histogram", labels: ML, buckets: TTFT },
  "vllm:inter_token_latency_seconds": { type: "histogram", labels: ML, buckets: ITL },
  "vllm:request_time_per_output_token_seconds": { type: "histogram", labels: ML, buckets: ITL },
  "vllm:e2e_request_latency_seconds": { type: "histogram", labels: ML, buckets: E2E },
  "vllm:request_queue_time_seconds": { type: "histogram", labels: ML, buckets: E2E },
  "vllm:request_inference_time_seconds": { type: "histogram", labels: ML, buckets: E2E },
  "vllm:request_prefill_time_seconds": { type: "histogram", labels: ML, buckets: E2E },
  "vllm:request_decode_time_seconds": { type: "histogram", labels: ML, buckets: E2E },
  "vllm:kv_block_lifetime_seconds": { type: "histogram", labels: ML, conditional: true },
  "vllm:kv_block_idle_before_evict_seconds": { type: "histogram", labels: ML, conditional: true },
  "vllm:kv_block_reuse_gap_seconds": { type: "histogram", labels: ML, conditional: true },
  "vllm:lora_requests_info": {
    type: "gauge",
    labels: ["max_lora", "waiting_lora_adapters", "running_lora_adapters"],
  },
  "vllm:spec_decode_num_draft_tokens_total": { type: "counter", labels: ML, conditional: true },
  "vllm:spec_decode_num_accepted_tokens_total": { type: "counter", labels: ML, conditional: true },
};

let engine: MockEngine;
let fams: Map<string, Family>;
let raw: string;

beforeAll(async () => {
  engine = await startMockEngine({ engine: "vllm", tickMs: 0, seed: 7 });
  engine.step(400);
  raw = await (await fetch(engine.metricsUrl)).text();
  fams = parseProm(raw);
});
afterAll(() => engine.stop());

test("every unconditional §1.3 family is exposed with its type", () => {
  for (const [name, spec] of Object.entries(VLLM_FAMILIES)) {
    if (spec.conditional) continue;
    expect({ name, type: fams.get(name)?.type }).toEqual({ name, type: spec.type });
  }
});

test("no family outside §1.3 (except cache_config_info) and no _created series", () => {
  for (const name of fams.keys()) {
    if (name === "vllm:cache_config_info") continue;
    expect({ name, known: name in VLLM_FAMILIES }).toEqual({ name, known: true });
  }
  for (const f of fams.values()) for (const s of f.samples) expect(s.name.endsWith("_created")).toBe(false);
});

test("labels of every sample match §1.3 (model_name + engine, or the documented exceptions)", () => {
  for (const [name, f] of fams) {
    if (name === "vllm:cache_config_info") continue;
    const want = [...VLLM_FAMILIES[name]!.labels].sort();
    for (const s of f.samples) {
      const got = Object.keys(s.labels)
        .filter((k) => k !== "le")
        .sort();
      expect({ name: s.name, labels: got }).toEqual({ name: s.name, labels: want });
      if (want.includes("engine")) expect(s.labels.engine).toBe("0");
    }
  }
});

test("histogram bucket lists are the real ones", () => {
  for (const [name, spec] of Object.entries(VLLM_FAMILIES)) {
    if (!spec.buckets || !fams.has(name)) continue;
    const les = fams
      .get(name)!
      .samples.filter((s) => s.name === `${name}_bucket`)
      .map((s) => s.labels.le!);
    expect({ name, les }).toEqual({
      name,
      les: [...spec.buckets.map((b) => (Number.isInteger(b) ? `${b}.0` : String(b))), "+Inf"],
    });
  }
});

test("counters carry _total, values are Python floats, finished_reason covers stop/length/abort", () => {
  for (const [name, f] of fams) if (f.type === "counter") expect(name.endsWith("_total")).toBe(true);
  const reasons = fams.get("vllm:request_success_total")!.samples.map((s) => s.labels.finished_reason);
  expect(reasons.sort()).toEqual(["abort", "length", "stop"]);
  // A count of requests: one whole number, rendered as a Python float ("3.0").
  const running = fams.get("vllm:num_requests_running")!.samples.map((s) => s.value);
  expect(running.length).toBe(1);
  expect(Number.isInteger(running[0])).toBe(true);
  expect(raw).toMatch(new RegExp(`^vllm:num_requests_running\\{[^}]*\\} ${running[0]}\\.0$`, "m"));
});

test("cache_config_info is info-style (value 1) with block_size, num_gpu_blocks and engine labels", () => {
  const s = fams.get("vllm:cache_config_info")!;
  expect(s.type).toBe("gauge");
  expect(s.samples[0]!.value).toBe(1);
  expect(s.samples[0]!.labels).toMatchObject({ block_size: "16", num_gpu_blocks: "2048", engine: "0" });
});

test("lora_requests_info value is a Unix timestamp and max_lora is --max-loras", () => {
  const s = fams.get("vllm:lora_requests_info")!.samples;
  expect(s.length).toBeGreaterThan(0);
  for (const x of s) {
    expect(Math.abs(x.value - Date.now() / 1000)).toBeLessThan(600);
    expect(x.labels.max_lora).toBe("4");
  }
});
