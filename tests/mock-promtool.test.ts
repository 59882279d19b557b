// Every personality's Prometheus output passes `promtool check metrics`: no parse error, and no lint finding
// except "should not contain ':'" (every engine-style name triggers it) and the cases where the real engine
// itself breaks the conventions, each named below.
import { describe, expect } from "bun:test";
import { MOCK_ENGINES, type MockEngineName, startMockEngine } from "../mock/index.ts";
import { checkMetrics, promtool } from "./helpers/promtool.ts";

/** Findings the real engines produce too (metric name -> lint text), so the mock keeps them. */
const REAL_ENGINE_FINDINGS: Record<MockEngineName, Array<[string, string]>> = {
  // A histogram whose declared name ends in _total (loggers.py).
  vllm: [["vllm:iteration_tokens_total", 'non-counter metrics should not have "_total" suffix']],
  // A gauge named ..._slots_total (the pool size).
  sglang: [["sglang:lora_pool_slots_total", 'non-counter metrics should not have "_total" suffix']],
  // Declared counters although one is an average and one a high watermark; neither ends in _total.
  llamacpp: [
    ["llamacpp:n_busy_slots_per_decode", 'counter metrics should have "_total" suffix'],
    ["llamacpp:n_tokens_max", 'counter metrics should have "_total" suffix'],
  ],
  // metrics-exporter-prometheus exposes counters exactly as named; tgi_batch_max_total_tokens is described under
  // another name, so it has no HELP.
  tgi: [
    ["tgi_request_count", 'counter metrics should have "_total" suffix'],
    ["tgi_request_count", 'non-histogram and non-summary metrics should not have "_count" suffix'],
    ["tgi_request_success", 'counter metrics should have "_total" suffix'],
    ["tgi_request_failure", 'counter metrics should have "_total" suffix'],
    ["tgi_batch_inference_count", 'counter metrics should have "_total" suffix'],
    ["tgi_batch_inference_count", 'non-histogram and non-summary metrics should not have "_count" suffix'],
    ["tgi_batch_inference_success", 'counter metrics should have "_total" suffix'],
    ["tgi_batch_max_total_tokens", "no help text"],
  ],
  trtllm: [],
  // Triton counters have no _total, latency counters are in µs (_us), and some names end in _count.
  triton: [
    ...["request_success", "request_failure", "count", "exec_count"].map(
      (n) => [`nv_inference_${n}`, 'counter metrics should have "_total" suffix'] as [string, string],
    ),
    ...["request", "queue", "compute_input", "compute_infer", "compute_output"].flatMap((n) => [
      [`nv_inference_${n}_duration_us`, 'counter metrics should have "_total" suffix'] as [string, string],
      [`nv_inference_${n}_duration_us`, "metric names should not contain abbreviated units"] as [
        string,
        string,
      ],
    ]),
    ...["count", "exec_count", "pending_request_count"].map(
      (n) =>
        [`nv_inference_${n}`, 'non-histogram and non-summary metrics should not have "_count" suffix'] as [
          string,
          string,
        ],
    ),
  ],
};

describe("promtool check metrics", () => {
  for (const engine of MOCK_ENGINES) {
    promtool.test(
      `${engine}: no parse error, no lint finding except ':' and the real engine's own`,
      async () => {
        const m = await startMockEngine({ engine, tickMs: 0, seed: 3 });
        try {
          m.simulateRequest(null);
          m.step(600);
          const text = await (await fetch(m.metricsUrl)).text();
          const { findings } = checkMetrics(text);
          const allowed = new Set(REAL_ENGINE_FINDINGS[engine].map(([n, f]) => `${n} ${f}`));
          const unexpected = findings.filter((f) => !f.endsWith("should not contain ':'") && !allowed.has(f));
          expect(unexpected).toEqual([]);
          // The allow-list is not stale: every listed finding is still produced.
          for (const a of allowed) expect(findings).toContain(a);
        } finally {
          await m.stop();
        }
      },
    );
  }

  promtool.test(
    "promtool rejects the malformed-metrics fault (so the fault really breaks parsers)",
    async () => {
      const m = await startMockEngine({ engine: "vllm", tickMs: 0, faults: { malformedMetrics: true } });
      try {
        const r = checkMetrics(await (await fetch(m.metricsUrl)).text());
        expect(r.status).not.toBe(0);
        expect(r.findings.join("\n")).toMatch(/error while linting|parse|expected/i);
      } finally {
        await m.stop();
      }
    },
  );
});
