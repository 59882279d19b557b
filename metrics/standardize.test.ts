import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createOwnMetrics } from "./own.ts";
import { parseExposition } from "./parse.ts";
import { renderFamilies } from "./render.ts";
import { CONCEPTS, conceptTable, rulesFor } from "./rules.ts";
import { buildSnapshot, type EndpointData, OUR_PREFIX } from "./snapshot.ts";
import { modelNameIn, standardize } from "./standardize.ts";
import type { MetricFamily } from "./types.ts";

const fixture = (n: string) => readFileSync(new URL(`./fixtures/${n}.prom`, import.meta.url), "utf8");
const values = (fs: MetricFamily[], name: string) =>
  fs
    .flatMap((f) => f.samples)
    .filter((s) => s.name === name)
    .map((s) => ({ labels: s.labels, value: s.value }));

describe("standardize", () => {
  test("vLLM: names kept from AIBrix, counters renamed (B8 fixed), block size/count from cache_config_info", () => {
    const p = parseExposition(fixture("vllm"));
    const out = standardize(p.byName, rulesFor("vllm"), { modelName: modelNameIn(p.families) });
    expect(values(out, "aibrix:queue_size")).toEqual([
      { labels: { engine: "0", model_name: "llama" }, value: 5 },
    ]);
    expect(values(out, "aibrix:prompt_tokens_total")[0]!.value).toBe(1200);
    expect(values(out, "aibrix:request_success_total").map((s) => s.labels.finished_reason)).toEqual([
      "stop",
      "length",
      "abort",
    ]);
    expect(values(out, "aibrix:kv_cache_block_size")).toEqual([
      { labels: { engine: "0", model_name: "llama" }, value: 16 },
    ]);
    expect(values(out, "aibrix:kv_cache_num_blocks")[0]!.value).toBe(2048);
    expect(values(out, "aibrix:lora_requests_info")[0]!.labels).toEqual({
      max_lora: "4",
      running_lora_adapters: "a1,a2",
      waiting_lora_adapters: "",
    });
    expect(out.find((f) => f.name === "aibrix:time_to_first_token_seconds")!.type).toBe("histogram");
  });

  test("TGI: token counters derived from histogram sums, model_name added, KV proxy ratio", () => {
    const p = parseExposition(fixture("tgi"));
    const out = standardize(p.byName, rulesFor("tgi"), { modelName: "bigscience/bloom" });
    const m = { model_name: "bigscience/bloom" };
    expect(values(out, "aibrix:prompt_tokens_total")).toEqual([{ labels: m, value: 1800 }]);
    expect(values(out, "aibrix:generation_tokens_total")).toEqual([{ labels: m, value: 3600 }]);
    expect(values(out, "aibrix:request_success_total")).toEqual([{ labels: m, value: 18 }]);
    expect(values(out, "aibrix:queue_size")).toEqual([{ labels: m, value: 3 }]);
    expect(values(out, "aibrix:kv_cache_usage_perc")).toEqual([{ labels: m, value: 0.25 }]);
    expect(out.find((f) => f.name === "aibrix:request_success_total")!.type).toBe("counter");
  });

  test("Triton: µs counters and ms histogram (le bounds included) converted to seconds; model -> model_name", () => {
    const p = parseExposition(fixture("triton"));
    const out = standardize(p.byName, rulesFor("triton"));
    expect(values(out, "aibrix:request_duration_seconds_total")).toEqual([
      { labels: { model_name: "ensemble", version: "1" }, value: 12.5 },
    ]);
    expect(
      values(out, "aibrix:time_to_first_token_seconds_bucket").map((s) => [s.labels.le, s.value]),
    ).toEqual([
      ["0.1", 10],
      ["0.5", 40],
      ["+Inf", 42],
    ]);
    expect(values(out, "aibrix:time_to_first_token_seconds_sum")[0]!.value).toBe(8.4);
    expect(values(out, "aibrix:queue_size")).toEqual([
      { labels: { model_name: "tensorrt_llm", version: "1" }, value: 2 },
    ]);
    expect(values(out, "aibrix:kv_cache_block_size")[0]!.value).toBe(64);
    expect(values(out, "aibrix:kv_cache_num_blocks")[0]!.value).toBe(4000);
  });

  test("llama.cpp: tokens/s inverted to seconds per token", () => {
    const p = parseExposition(fixture("llamacpp"));
    const out = standardize(p.byName, rulesFor("llamacpp"), { modelName: "m" });
    expect(values(out, "aibrix:avg_time_per_output_token_seconds")).toEqual([
      { labels: { model_name: "m" }, value: 0.025 },
    ]);
    expect(values(out, "aibrix:generation_tokens_total")[0]!.value).toBe(2048);
    expect(values(out, "aibrix:num_requests_running")[0]!.value).toBe(1);
  });

  test("generic engine has no rules", () => {
    expect(rulesFor("generic").rules).toEqual([]);
  });

  test("the docs/metrics.md table is generated from the rules", () => {
    const t = conceptTable();
    expect(t).toContain(
      "| `aibrix:queue_size` | gauge | `vllm:num_requests_waiting` | `sglang:num_queue_reqs`",
    );
    expect(t.split("\n").length).toBeGreaterThan(15);
  });
});

describe("snapshot", () => {
  const endpoint = (rank: number, text: string, scrapedAt = 1000): EndpointData => {
    const p = parseExposition(text);
    return {
      rank,
      raw: p.families,
      standard: standardize(p.byName, rulesFor("vllm"), { modelName: modelNameIn(p.families) }),
      scrapedAt,
    };
  };
  const base = {
    mode: "default" as const,
    rules: rulesFor("vllm"),
    reserved: new Set<string>(),
    staleAfterMs: 5000,
    now: 2000,
  };

  test("several endpoints: passthrough keeps a rank label, aibrix counters/gauges summed, buckets merged, kv mean", () => {
    const a = endpoint(0, fixture("vllm"));
    const b = endpoint(1, fixture("vllm"));
    const s = buildSnapshot({ ...base, endpoints: [a, b], endpointCount: 2 });
    const p = parseExposition(s.body("text"));
    expect(p.errorCount).toBe(0);
    expect(values(p.families, "vllm:num_requests_waiting").map((x) => x.labels.rank)).toEqual(["0", "1"]);
    expect(values(p.families, "aibrix:queue_size")).toEqual([
      { labels: { engine: "0", model_name: "llama" }, value: 10 },
    ]);
    expect(values(p.families, "aibrix:kv_cache_usage_perc")[0]!.value).toBe(0.4875);
    expect(values(p.families, "aibrix:time_to_first_token_seconds_bucket").map((x) => x.value)).toEqual([
      0, 8, 24, 26,
    ]);
    expect(values(p.families, "aibrix:kv_cache_block_size")[0]!.value).toBe(16);
  });

  test("modes: raw has no aibrix families, standard has no engine families; no family twice", () => {
    const e = endpoint(0, fixture("vllm"));
    for (const mode of ["default", "raw", "standard"] as const) {
      const s = buildSnapshot({ ...base, mode, endpoints: [e], endpointCount: 1 });
      const names = parseExposition(s.body("text")).families.map((f) => f.name);
      expect(new Set(names).size).toBe(names.length);
      expect(names.some((n) => n.startsWith("vllm:"))).toBe(mode !== "standard");
      expect(names.some((n) => n.startsWith("aibrix:"))).toBe(mode !== "raw");
    }
  });

  test("synthesized LoRA info: max_lora from the engine where it tells (SGLang), omitted where nothing does", () => {
    const info = (kind: "sglang" | "tgi", text: string, maxLora?: number) => {
      const p = parseExposition(text);
      const rules = rulesFor(kind);
      const e: EndpointData = {
        rank: 0,
        raw: p.families,
        standard: standardize(p.byName, rules),
        scrapedAt: 1000,
      };
      const s = buildSnapshot({
        ...base,
        rules,
        endpoints: [e],
        endpointCount: 1,
        lora: { maxLora, running: ["a"], waiting: [] },
      });
      return values(parseExposition(s.body("text")).families, "aibrix:lora_requests_info")[0]!.labels;
    };
    const sglang = "# TYPE sglang:lora_pool_slots_total gauge\nsglang:lora_pool_slots_total 6\n";
    // The engine's capacity, whatever the registry holds (one adapter running is not "max 1").
    expect(info("sglang", sglang)).toEqual({
      max_lora: "6",
      running_lora_adapters: "a",
      waiting_lora_adapters: "",
    });
    expect(info("sglang", sglang, 2).max_lora).toBe("6");
    // No figure from the engine and none configured: no max_lora label rather than an invented one.
    expect(info("tgi", fixture("tgi"))).toEqual({ running_lora_adapters: "a", waiting_lora_adapters: "" });
    expect(info("sglang", "# TYPE sglang:num_queue_reqs gauge\nsglang:num_queue_reqs 0\n")).toEqual({
      running_lora_adapters: "a",
      waiting_lora_adapters: "",
    });
    // A configured figure is used where the engine says nothing.
    expect(info("tgi", fixture("tgi"), 4).max_lora).toBe("4");
  });

  test("LoRA info synthesized from the sidecar's registry when the engine has none", () => {
    const p = parseExposition(fixture("tgi"));
    const e: EndpointData = {
      rank: 0,
      raw: p.families,
      standard: standardize(p.byName, rulesFor("tgi")),
      scrapedAt: 1000,
    };
    const s = buildSnapshot({
      ...base,
      rules: rulesFor("tgi"),
      endpoints: [e],
      endpointCount: 1,
      lora: { maxLora: 8, running: ["a", "b"], waiting: [] },
    });
    const v = values(parseExposition(s.body("text")).families, "aibrix:lora_requests_info");
    expect(v).toEqual([
      { labels: { max_lora: "8", running_lora_adapters: "a,b", waiting_lora_adapters: "" }, value: 2 },
    ]);
  });

  test("engine families never shadow the sidecar's own names", () => {
    const own = createOwnMetrics();
    own.gauge({ name: "vllm:num_requests_waiting", help: "x" });
    const s = buildSnapshot({
      ...base,
      endpoints: [endpoint(0, fixture("vllm"))],
      endpointCount: 1,
      reserved: new Set(own.names()),
    });
    expect(s.familyNames.has("vllm:num_requests_waiting")).toBe(false);
  });

  test("a hostile engine cannot emit our names, reserved labels or broken lines, in any mode", () => {
    const own = createOwnMetrics();
    own.counter({ name: "aibrix:engine_scrape_errors_total", help: "x", labelNames: ["reason"] });
    own.gauge({ name: "aibrix:engine_up", help: "x" });
    for (const mode of ["default", "raw", "standard"] as const) {
      const s = buildSnapshot({
        ...base,
        mode,
        endpoints: [endpoint(0, fixture("hostile"))],
        endpointCount: 1,
        reserved: new Set(own.names()),
      });
      for (const format of ["text", "openmetrics"] as const) {
        const body = s.body(format);
        expect(body).not.toContain("999999");
        expect(body).not.toContain("__");
        const back = parseExposition(format === "text" ? body : `${body}# EOF\n`);
        expect(back.errorCount).toBe(0);
        // Every aibrix:* family is one the rules computed, never one the engine sent.
        for (const f of back.families)
          if (f.name.startsWith(OUR_PREFIX)) expect(mode === "raw" ? "" : f.help).not.toBe("");
      }
      if (mode !== "standard")
        expect(s.body("text")).toContain('vllm:inj{model_name="a\\"b\\\\c\\nd}e,f=\\"g"} 1');
      if (mode !== "raw")
        expect(s.body("text")).toContain('aibrix:queue_size{engine="0",model_name="llama"} 5.0\n');
    }
    // Every standardized name is in the namespace the snapshot keeps engine families out of.
    for (const c of CONCEPTS) expect(c.target.startsWith(OUR_PREFIX)).toBe(true);
  });

  test("OpenMetrics body renders and re-parses", () => {
    const s = buildSnapshot({ ...base, endpoints: [endpoint(0, fixture("vllm"))], endpointCount: 1 });
    const om = s.body("openmetrics");
    expect(om).toContain("# TYPE aibrix:prompt_tokens counter\naibrix:prompt_tokens_total{");
    const back = parseExposition(om + "# EOF\n");
    expect(back.errorCount).toBe(0);
    expect(renderFamilies(back.families, "text")).toBe(
      renderFamilies(parseExposition(s.body("text"), { openMetrics: true }).families, "text"),
    );
  });
});

test("docs/metrics.md's concept x engine table is the one the rules generate", () => {
  const readme = readFileSync(new URL("../docs/metrics.md", import.meta.url), "utf8");
  const m = /<!-- concept-table:start -->\n([\s\S]*?)\n<!-- concept-table:end -->/.exec(readme);
  expect(m?.[1]).toBe(conceptTable());
});
