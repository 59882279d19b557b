// Contract suite run against every mock personality: health (including start-up behaviour), models,
// LoRA where the engine supports it, and metrics that parse, move and are reproducible.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MOCK_ENGINES, type MockEngine, type MockEngineName, startMockEngine } from "../mock/index.ts";
import { waitUntil } from "./helpers/sidecar.ts";
import { type Family, parseProm, value } from "./mock-prom-lite.ts";

const MODEL = "test-org/test-model";

/** A response's JSON body, untyped (as JSON.parse returns it): the tests assert its shape. */
const body = (r: Response): Promise<ReturnType<typeof JSON.parse>> => r.json();

interface Case {
  health: string;
  /** How the engine shows "still loading the model". */
  starting: "refused" | 503 | 400;
  /** Request that lists models and the ids it must contain. */
  models(e: MockEngine): Promise<string[]>;
}

/** POST a JSON body (with its content-type) to a path of one mock engine. */
const postJson = (e: MockEngine, path: string, payload: unknown) =>
  fetch(`${e.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });

const openaiModels = async (e: MockEngine) =>
  ((await (await fetch(`${e.url}/v1/models`)).json()) as { data: Array<{ id: string }> }).data.map(
    (m) => m.id,
  );

const CASES: Record<MockEngineName, Case> = {
  vllm: { health: "/health", starting: "refused", models: openaiModels },
  sglang: { health: "/health", starting: 503, models: openaiModels },
  llamacpp: { health: "/health", starting: 503, models: openaiModels },
  tgi: { health: "/health", starting: "refused", models: openaiModels },
  trtllm: { health: "/health", starting: "refused", models: openaiModels },
  triton: {
    health: "/v2/health/ready",
    starting: 400,
    models: async (e) =>
      (
        (await (await fetch(`${e.url}/v2/repository/index`, { method: "POST" })).json()) as Array<{
          name: string;
        }>
      ).map((m) => m.name),
  },
};

async function status(url: string): Promise<number | "refused"> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return "refused";
  }
}

const scrape = async (e: MockEngine) => parseProm(await (await fetch(e.metricsUrl)).text());

/** Every counter sample and histogram _count/_sum/_bucket, keyed by name + labels. */
function monotonicSeries(fams: Map<string, Family>): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of fams.values()) {
    if (f.type !== "counter" && f.type !== "histogram") continue;
    // llama.cpp's n_busy_slots_per_decode is declared a counter but is an average (it may go down).
    if (f.name === "llamacpp:n_busy_slots_per_decode") continue;
    for (const s of f.samples) out.set(`${s.name}${JSON.stringify(s.labels)}`, s.value);
  }
  return out;
}

let dir: string;
let goodAdapter: string;
let noConfigAdapter: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mock-contract-"));
  goodAdapter = join(dir, "good");
  noConfigAdapter = join(dir, "noconfig");
  await mkdir(goodAdapter);
  await mkdir(noConfigAdapter);
  await writeFile(join(goodAdapter, "adapter_config.json"), JSON.stringify({ r: 8, peft_type: "LORA" }));
  await writeFile(join(goodAdapter, "adapter_model.safetensors"), "weights");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

for (const engine of MOCK_ENGINES) {
  const c = CASES[engine];
  describe(`${engine} personality`, () => {
    test("health: shows 'loading' its own way during the start-up delay, then 200", async () => {
      const e = await startMockEngine({ engine, startupDelayMs: 400, model: MODEL });
      try {
        expect(await status(`${e.url}${c.health}`)).toBe(c.starting);
        if (engine === "triton") expect(await status(`${e.url}/v2/health/live`)).toBe(200);
        if (engine === "llamacpp") {
          const r = await fetch(`${e.url}/health`);
          expect(await r.json()).toEqual({
            error: { code: 503, message: "Loading model", type: "unavailable_error" },
          });
        }
        await waitUntil(async () => (await status(`${e.url}${c.health}`)) === 200, 5000);
        await e.whenReady();
      } finally {
        await e.stop();
      }
    });

    test("models: the served model is listed", async () => {
      const e = await startMockEngine({ engine, model: MODEL });
      try {
        expect(await c.models(e)).toContain(MODEL);
      } finally {
        await e.stop();
      }
    });

    test("metrics: parse, counters and histograms only grow, and a seed reproduces the run", async () => {
      const a = await startMockEngine({ engine, tickMs: 0, seed: 11, model: MODEL });
      const b = await startMockEngine({ engine, tickMs: 0, seed: 11, model: MODEL });
      try {
        a.step(50);
        const first = monotonicSeries(await scrape(a));
        a.step(300);
        const second = monotonicSeries(await scrape(a));
        let grew = 0;
        for (const [k, v] of first) {
          expect({ k, ok: (second.get(k) ?? -1) >= v }).toEqual({ k, ok: true });
          if ((second.get(k) ?? 0) > v) grew++;
        }
        expect(grew).toBeGreaterThan(0);
        // Same seed, same steps: same values (timestamps aside).
        b.step(50);
        await scrape(b);
        b.step(300);
        expect(monotonicSeries(await scrape(b))).toEqual(second);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });
  });
}

describe("running / waiting gauges and KV usage move under the simulated load", () => {
  const gaugeOf: Record<MockEngineName, [string, Record<string, string>]> = {
    vllm: ["vllm:kv_cache_usage_perc", {}],
    sglang: ["sglang:token_usage", {}],
    llamacpp: ["llamacpp:requests_processing", {}],
    tgi: ["tgi_batch_current_size", {}],
    trtllm: ["trtllm_kv_cache_utilization", {}],
    triton: ["nv_trt_llm_kv_cache_block_metrics", { kv_cache_block_type: "fraction" }],
  };
  for (const engine of MOCK_ENGINES) {
    test(`${engine}: ${gaugeOf[engine][0]} rises and falls`, async () => {
      const e = await startMockEngine({ engine, tickMs: 0, seed: 5, load: 20 });
      try {
        const seen: number[] = [];
        for (let i = 0; i < 40; i++) {
          e.step(60);
          seen.push(value(await scrape(e), ...gaugeOf[engine]));
        }
        const rises = seen.some((v, i) => i > 0 && v > seen[i - 1]!);
        const falls = seen.some((v, i) => i > 0 && v < seen[i - 1]!);
        expect({ rises, falls }).toEqual({ rises: true, falls: true });
        if (gaugeOf[engine][0].includes("usage") || gaugeOf[engine][0].includes("utilization"))
          for (const v of seen) expect(v >= 0 && v <= 1).toBe(true);
      } finally {
        await e.stop();
      }
    });
  }
});

describe("LoRA: vLLM", () => {
  let e: MockEngine;
  beforeAll(async () => {
    e = await startMockEngine({ engine: "vllm", model: MODEL, load: 0, tickMs: 0 });
  });
  afterAll(() => e.stop());
  const post = (path: string, payload: unknown) => postJson(e, path, payload);

  test("accepts only an existing directory holding adapter_config.json", async () => {
    const missing = await post("/v1/load_lora_adapter", { lora_name: "x", lora_path: join(dir, "nope") });
    expect(missing.status).toBe(404);
    expect((await body(missing)).error).toMatchObject({ type: "NotFoundError", code: 404 });
    const noConfig = await post("/v1/load_lora_adapter", { lora_name: "x", lora_path: noConfigAdapter });
    expect(noConfig.status).toBe(404);
    await noConfig.arrayBuffer();
    const ok = await post("/v1/load_lora_adapter", { lora_name: "a", lora_path: goodAdapter });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toBeNull();
    expect(await ok.text()).toBe("Success: LoRA adapter 'a' added successfully.");
    expect(e.loaded()).toEqual({ a: goodAdapter });
  });

  test("second load is 400, models list the adapter with root and parent", async () => {
    const again = await post("/v1/load_lora_adapter", { lora_name: "a", lora_path: goodAdapter });
    expect(again.status).toBe(400);
    expect((await body(again)).error.message).toContain("has already been loaded");
    const models = await body(await fetch(`${e.url}/v1/models`));
    expect(models.object).toBe("list");
    expect(models.data[0]).toMatchObject({ id: MODEL, object: "model", owned_by: "vllm", parent: null });
    expect(models.data[1]).toMatchObject({ id: "a", root: goodAdapter, parent: MODEL });
  });

  test("missing fields are 400 InvalidUserInput", async () => {
    const r = await post("/v1/load_lora_adapter", { lora_name: "a" });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({
      error: {
        message: "Both 'lora_name' and 'lora_path' must be provided.",
        type: "InvalidUserInput",
        param: null,
        code: 400,
      },
    });
  });

  test("adapters named by requests appear in lora_requests_info; stale combinations stay", async () => {
    e.simulateRequest("a");
    let fams = await scrape(e);
    const series = () => fams.get("vllm:lora_requests_info")!.samples;
    expect(series().some((s) => s.labels.running_lora_adapters === "a")).toBe(true);
    e.step(2000);
    fams = await scrape(e);
    const latest = series().reduce((x, y) => (y.value > x.value ? y : x));
    expect(latest.labels.running_lora_adapters).toBe("");
    expect(series().some((s) => s.labels.running_lora_adapters === "a")).toBe(true);
  });

  test("unload: plain-text success, 404 JSON for an unknown adapter; calls counted per adapter", async () => {
    const ok = await post("/v1/unload_lora_adapter", { lora_name: "a" });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("Success: LoRA adapter 'a' removed successfully.");
    const gone = await post("/v1/unload_lora_adapter", { lora_name: "a" });
    expect(gone.status).toBe(404);
    expect((await body(gone)).error.message).toBe("The lora adapter 'a' cannot be found.");
    expect(e.counters()).toEqual({ x: { load: 2, unload: 0 }, a: { load: 3, unload: 2 } });
    const stats = await body(await fetch(`${e.url}/_mock/stats`));
    expect(stats.counters.a).toEqual({ load: 3, unload: 2 });
    expect(stats.loaded).toEqual({});
  });

  test("--max-loras: requests for a further adapter wait (waiting_lora_adapters) until a slot frees", async () => {
    const one = await startMockEngine({
      engine: "vllm",
      maxLoras: 1,
      load: 0,
      tickMs: 0,
      loras: { p: "/p", q: "/q" },
    });
    try {
      one.simulateRequest("p");
      one.simulateRequest("q");
      const fams = await scrape(one);
      const latest = fams
        .get("vllm:lora_requests_info")!
        .samples.reduce((x, y) => (y.value > x.value ? y : x));
      expect(latest.labels).toEqual({
        max_lora: "1",
        running_lora_adapters: "p",
        waiting_lora_adapters: "q",
      });
    } finally {
      await one.stop();
    }
  });

  test("without --enable-lora: loads fail with 400 and there is no lora_requests_info", async () => {
    const off = await startMockEngine({ engine: "vllm", enableLora: false, tickMs: 0 });
    try {
      const r = await fetch(`${off.url}/v1/load_lora_adapter`, {
        method: "POST",
        body: JSON.stringify({ lora_name: "a", lora_path: goodAdapter }),
      });
      expect(r.status).toBe(400);
      expect((await body(r)).error.message).toContain("--enable-lora");
      expect((await scrape(off)).has("vllm:lora_requests_info")).toBe(false);
    } finally {
      await off.stop();
    }
  });

  test("routes exist only when the engine environment enables them", async () => {
    const off = await startMockEngine({
      engine: "vllm",
      env: { VLLM_ALLOW_RUNTIME_LORA_UPDATING: "False", VLLM_SERVER_DEV_MODE: "0" },
    });
    try {
      for (const p of ["/v1/load_lora_adapter", "/sleep", "/wake_up", "/reset_prefix_cache"]) {
        const r = await fetch(`${off.url}${p}`, { method: "POST", body: "{}" });
        expect({ p, status: r.status, body: await r.json() }).toEqual({
          p,
          status: 404,
          body: { detail: "Not Found" },
        });
      }
    } finally {
      await off.stop();
    }
  });

  test("sleep / wake_up / is_sleeping and the engine_sleep_state gauge", async () => {
    expect((await fetch(`${e.url}/sleep?level=2`, { method: "POST" })).status).toBe(200);
    expect(await (await fetch(`${e.url}/is_sleeping`)).json()).toEqual({ is_sleeping: true });
    let fams = await scrape(e);
    expect(value(fams, "vllm:engine_sleep_state", { sleep_state: "discard_all" })).toBe(1);
    expect(value(fams, "vllm:engine_sleep_state", { sleep_state: "awake" })).toBe(0);
    expect((await fetch(`${e.url}/wake_up`, { method: "POST" })).status).toBe(200);
    fams = await scrape(e);
    expect(value(fams, "vllm:engine_sleep_state", { sleep_state: "awake" })).toBe(1);
  });
});

describe("LoRA: SGLang", () => {
  let e: MockEngine;
  beforeAll(async () => {
    e = await startMockEngine({ engine: "sglang", model: MODEL });
  });
  afterAll(() => e.stop());
  const post = (path: string, payload: unknown) => postJson(e, path, payload);

  test("load / unload answer {success, error_message, loaded_adapters}; failures are 400", async () => {
    const bad = await post("/load_lora_adapter", { lora_name: "s", lora_path: noConfigAdapter });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ success: false, loaded_adapters: {} });
    const ok = await post("/load_lora_adapter", { lora_name: "s", lora_path: goodAdapter });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      success: true,
      error_message: "",
      loaded_adapters: { s: goodAdapter },
    });
    const dup = await post("/load_lora_adapter", { lora_name: "s", lora_path: goodAdapter });
    expect(dup.status).toBe(400);
    expect((await body(dup)).success).toBe(false);
    expect(await openaiModels(e)).toContain("s");
    const un = await post("/unload_lora_adapter", { lora_name: "s" });
    expect(await un.json()).toEqual({ success: true, error_message: "", loaded_adapters: {} });
    const un2 = await post("/unload_lora_adapter", { lora_name: "s" });
    expect(un2.status).toBe(400);
    await un2.arrayBuffer();
    expect(e.counters()).toEqual({ s: { load: 3, unload: 2 } });
  });

  test("info routes answer", async () => {
    expect(await (await fetch(`${e.url}/get_model_info`)).json()).toMatchObject({
      model_path: MODEL,
      is_generation: true,
    });
    expect(await (await fetch(`${e.url}/get_server_info`)).json()).toMatchObject({
      version: expect.any(String),
    });
    expect((await fetch(`${e.url}/release_memory_occupation`, { method: "POST", body: "{}" })).status).toBe(
      200,
    );
    expect((await fetch(`${e.url}/resume_memory_occupation`, { method: "POST", body: "{}" })).status).toBe(
      200,
    );
  });

  test("without --enable-lora: 400 with SGLang's message", async () => {
    const off = await startMockEngine({ engine: "sglang", enableLora: false });
    try {
      const r = await fetch(`${off.url}/load_lora_adapter`, {
        method: "POST",
        body: JSON.stringify({ lora_name: "a", lora_path: goodAdapter }),
      });
      expect(r.status).toBe(400);
      expect(await body(r)).toEqual({
        success: false,
        error_message: "LoRA is not enabled. Please set `--enable-lora` to enable LoRA.",
        loaded_adapters: {},
      });
    } finally {
      await off.stop();
    }
  });

  test("--enable-metrics off: /metrics is absent", async () => {
    const off = await startMockEngine({ engine: "sglang", metrics: false });
    try {
      expect((await fetch(off.metricsUrl)).status).toBe(404);
    } finally {
      await off.stop();
    }
  });
});

describe("llama.cpp: scales only for preloaded adapters; /metrics 501 without --metrics", () => {
  test("GET/POST /lora-adapters", async () => {
    const e = await startMockEngine({
      engine: "llamacpp",
      loras: { one: "/models/one.gguf", two: "/models/two.gguf" },
    });
    try {
      expect(await (await fetch(`${e.url}/lora-adapters`)).json()).toEqual([
        { id: 0, path: "/models/one.gguf", scale: 1 },
        { id: 1, path: "/models/two.gguf", scale: 1 },
      ]);
      const r = await fetch(`${e.url}/lora-adapters`, {
        method: "POST",
        body: JSON.stringify([{ id: 1, scale: 0.5 }]),
      });
      expect(await r.json()).toEqual({ success: true });
      expect(await (await fetch(`${e.url}/lora-adapters`)).json()).toEqual([
        { id: 0, path: "/models/one.gguf", scale: 0 },
        { id: 1, path: "/models/two.gguf", scale: 0.5 },
      ]);
      const bad = await fetch(`${e.url}/lora-adapters`, { method: "POST", body: JSON.stringify({ id: 0 }) });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({
        error: { code: 400, message: "Request body must be an array", type: "invalid_request_error" },
      });
    } finally {
      await e.stop();
    }
  });

  test("metrics disabled", async () => {
    const e = await startMockEngine({ engine: "llamacpp", metrics: false });
    try {
      const r = await fetch(e.metricsUrl);
      expect(r.status).toBe(501);
      expect((await body(r)).error.type).toBe("not_supported_error");
    } finally {
      await e.stop();
    }
  });
});

describe("TGI and trtllm-serve", () => {
  test("TGI /info and no runtime LoRA route", async () => {
    const e = await startMockEngine({ engine: "tgi", model: MODEL });
    try {
      expect(await (await fetch(`${e.url}/info`)).json()).toMatchObject({
        model_id: MODEL,
        max_total_tokens: 4096,
      });
      expect((await fetch(`${e.url}/v1/load_lora_adapter`, { method: "POST", body: "{}" })).status).toBe(404);
      // Metrics on the main port and on the separate --prometheus-port listener.
      expect(e.metricsUrl).toBe(`${e.url}/metrics`);
      expect(e.metricsPortUrl).not.toBeNull();
      expect(await (await fetch(e.metricsPortUrl!)).text()).toContain("# TYPE tgi_request_count counter");
    } finally {
      await e.stop();
    }
  });

  test("trtllm: JSON iteration stats at /metrics (drained on read), Prometheus at /prometheus/metrics", async () => {
    const e = await startMockEngine({ engine: "trtllm", tickMs: 0 });
    try {
      expect(e.metricsUrl).toBe(`${e.url}/prometheus/metrics`);
      // Gauges appear only after iteration stats arrived.
      expect((await scrape(e)).has("trtllm_num_requests_running")).toBe(true);
      e.step(3);
      const stats = (await body(await fetch(`${e.url}/metrics`))) as unknown[];
      expect(stats.length).toBeGreaterThanOrEqual(3);
      expect(stats[0]).toMatchObject({ kvCacheStats: { maxNumBlocks: 2048 } });
      expect(await (await fetch(`${e.url}/metrics`)).json()).toEqual([]);
    } finally {
      await e.stop();
    }
  });
});

describe("Triton: repository control and the metrics port", () => {
  test("explicit mode loads and unloads; counted per model", async () => {
    const e = await startMockEngine({ engine: "triton", model: "ensemble", tickMs: 0, seed: 1 });
    try {
      expect(new URL(e.metricsUrl).port).not.toBe(new URL(e.url).port);
      const load = await fetch(`${e.url}/v2/repository/models/extra/load`, { method: "POST" });
      expect(load.status).toBe(200);
      expect((await fetch(`${e.url}/v2/models/extra/ready`)).status).toBe(200);
      expect((await fetch(`${e.url}/v2/repository/models/extra/unload`, { method: "POST" })).status).toBe(
        200,
      );
      expect((await fetch(`${e.url}/v2/models/extra/ready`)).status).toBe(400);
      expect(e.counters()).toEqual({ extra: { load: 1, unload: 1 } });
      expect((await fetch(`${e.url}/metrics`)).status).toBe(404);
      // The success counter lives on the metrics port and counts simulated traffic (frozen clock: exact).
      const success = async () =>
        value(await scrape(e), "nv_inference_request_success", { model: "ensemble", version: "1" });
      expect(await success()).toBe(0);
      e.simulateRequest(null);
      e.step(100);
      expect(await success()).toBeGreaterThan(0);
    } finally {
      await e.stop();
    }
  });

  test("load / unload are 400 {error} unless the model control mode is explicit", async () => {
    const e = await startMockEngine({ engine: "triton", modelControlMode: "none" });
    try {
      const r = await fetch(`${e.url}/v2/repository/models/extra/load`, { method: "POST" });
      expect(r.status).toBe(400);
      expect((await body(r)).error).toContain("not allowed");
    } finally {
      await e.stop();
    }
  });
});
