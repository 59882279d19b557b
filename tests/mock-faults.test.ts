// Faults, restart and auth of the mock engine (used by the sidecar's resilience tests and the demo).
import { afterEach, describe, expect, test } from "bun:test";
import { type MockEngine, startMockEngine } from "../mock/index.ts";
import { waitUntil } from "./helpers/sidecar.ts";
import { parseProm, value } from "./mock-prom-lite.ts";

const started: MockEngine[] = [];
const start = async (...a: Parameters<typeof startMockEngine>) => {
  const e = await startMockEngine(...a);
  started.push(e);
  return e;
};
afterEach(async () => {
  await Promise.all(started.splice(0).map((e) => e.stop()));
});

async function outcome(url: string, init?: RequestInit): Promise<number | "reset" | "timeout"> {
  try {
    const r = await fetch(url, { ...init, signal: init?.signal ?? AbortSignal.timeout(3000) });
    await r.arrayBuffer();
    return r.status;
  } catch (e) {
    return (e as Error).name === "TimeoutError" ? "timeout" : "reset";
  }
}

describe("faults", () => {
  test("error-rate: management calls fail with the engine's 5xx body; health and metrics do not", async () => {
    const e = await start({ engine: "vllm", faults: { errorRate: 1 } });
    const r = await fetch(`${e.url}/v1/models`);
    expect(r.status).toBe(500);
    expect(((await r.json()) as { error: { type: string } }).error.type).toBe("InternalServerError");
    expect(await outcome(`${e.url}/health`)).toBe(200);
    expect(await outcome(e.metricsUrl)).toBe(200);
    e.setFault({ errorRate: 0.3 });
    const results: number[] = [];
    for (let i = 0; i < 60; i++) results.push((await outcome(`${e.url}/v1/models`)) as number);
    const failed = results.filter((s) => s === 500).length;
    expect(failed).toBeGreaterThan(5);
    expect(failed).toBeLessThan(40);
  });

  test("reset: connections are dropped without a response (except /_mock)", async () => {
    const e = await start({ engine: "sglang", faults: { reset: true } });
    expect(await outcome(`${e.url}/health`)).toBe("reset");
    expect(await outcome(e.metricsUrl)).toBe("reset");
    expect(await outcome(`${e.url}/_mock/stats`)).toBe(200);
    e.setFault({ reset: false });
    expect(await outcome(`${e.url}/health`)).toBe(200);
  });

  test("slow-metrics delays the scrape; hang-metrics never answers", async () => {
    const e = await start({ engine: "vllm", faults: { slowMetricsMs: 300 } });
    const t0 = performance.now();
    expect(await outcome(e.metricsUrl)).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    e.setFault({ slowMetricsMs: null, hangMetrics: true });
    expect(await outcome(e.metricsUrl, { signal: AbortSignal.timeout(300) })).toBe("timeout");
    expect(await outcome(`${e.url}/health`)).toBe(200);
  });

  test("malformed-metrics breaks parsers", async () => {
    const e = await start({ engine: "llamacpp", faults: { malformedMetrics: true } });
    const text = await (await fetch(e.metricsUrl)).text();
    expect(() => parseProm(text)).toThrow();
    e.setFault(null);
    expect(() => parseProm(text)).toThrow();
    parseProm(await (await fetch(e.metricsUrl)).text());
  });

  test("unhealthy: each engine's own failing health answer", async () => {
    const want: Record<string, [string, number, string]> = {
      vllm: ["/health", 503, ""],
      sglang: ["/health", 503, ""],
      llamacpp: ["/health", 503, '"type":"unavailable_error"'],
      tgi: ["/health", 503, '{"error":"unhealthy","error_type":"healthcheck"}'],
      trtllm: ["/health", 503, "LLM is unavailable. Please check the server logs for more details."],
      triton: ["/v2/health/ready", 400, ""],
    };
    for (const [engine, [path, code, body]] of Object.entries(want)) {
      const e = await start({ engine: engine as never, faults: { unhealthy: true } });
      const r = await fetch(`${e.url}${path}`);
      const text = await r.text();
      expect({ engine, status: r.status, ok: body === "" ? text === "" : text.includes(body) }).toEqual({
        engine,
        status: code,
        ok: true,
      });
      e.setFault({ unhealthy: false });
      expect(await outcome(`${e.url}${path}`)).toBe(200);
    }
  });

  test("faults can be set over HTTP: POST/DELETE /_mock/fault", async () => {
    const e = await start({ engine: "vllm" });
    const set = await fetch(`${e.url}/_mock/fault`, {
      method: "POST",
      body: JSON.stringify({ errorRate: 1 }),
    });
    expect(await set.json()).toEqual({ faults: { errorRate: 1 } });
    expect(await outcome(`${e.url}/v1/models`)).toBe(500);
    const bad = await fetch(`${e.url}/_mock/fault`, {
      method: "POST",
      body: JSON.stringify({ explode: true }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("unknown fault 'explode'");
    await fetch(`${e.url}/_mock/fault`, { method: "DELETE" });
    expect(await outcome(`${e.url}/v1/models`)).toBe(200);
  });
});

describe("restart", () => {
  test("vLLM: forgets adapters, resets metrics, refuses connections for a moment; counters survive", async () => {
    const e = await start({ engine: "vllm", tickMs: 0, loras: {} });
    e.step(300);
    const before = value(parseProm(await (await fetch(e.metricsUrl)).text()), "vllm:prompt_tokens_total");
    expect(before).toBeGreaterThan(0);
    e.simulateRequest(null);
    const dir = (await import("node:os")).tmpdir();
    const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
    const ad = await mkdtemp(`${dir}/mock-restart-`);
    await writeFile(`${ad}/adapter_config.json`, "{}");
    const load = await fetch(`${e.url}/v1/load_lora_adapter`, {
      method: "POST",
      body: JSON.stringify({ lora_name: "r", lora_path: ad }),
    });
    expect(load.status).toBe(200);
    await e.restart(300);
    expect(await outcome(`${e.url}/health`)).toBe("reset");
    await e.whenReady();
    expect(await outcome(`${e.url}/health`)).toBe(200);
    expect(e.loaded()).toEqual({});
    expect(e.counters()).toEqual({ r: { load: 1, unload: 0 } });
    const after = value(parseProm(await (await fetch(e.metricsUrl)).text()), "vllm:prompt_tokens_total");
    expect(after).toBeLessThan(before);
    await rm(ad, { recursive: true });
  });

  test("SGLang over HTTP: POST /_mock/restart -> /health 503, then 200", async () => {
    const e = await start({ engine: "sglang" });
    const r = await fetch(`${e.url}/_mock/restart?down_ms=400`, { method: "POST" });
    expect(r.status).toBe(202);
    await waitUntil(async () => (await outcome(`${e.url}/health`)) === 503, 2000, 5);
    await waitUntil(async () => (await outcome(`${e.url}/health`)) === 200, 3000);
  });
});

describe("auth: each engine guards the paths the real one does", () => {
  const KEY = "sekret";
  const H = { authorization: `Bearer ${KEY}` };
  test("vLLM: only /v1 paths, 401 {error: Unauthorized}", async () => {
    const e = await start({ engine: "vllm", apiKey: KEY });
    const r = await fetch(`${e.url}/v1/models`);
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ error: "Unauthorized" });
    expect(await outcome(`${e.url}/v1/models`, { headers: H })).toBe(200);
    expect(await outcome(`${e.url}/health`)).toBe(200);
    expect(await outcome(e.metricsUrl)).toBe(200);
    expect(await outcome(`${e.url}/is_sleeping`)).toBe(200);
  });
  test("SGLang: everything except /health* and /metrics", async () => {
    const e = await start({ engine: "sglang", apiKey: KEY });
    expect(await outcome(`${e.url}/v1/models`)).toBe(401);
    expect(await outcome(`${e.url}/get_model_info`)).toBe(401);
    expect(await outcome(`${e.url}/get_model_info`, { headers: H })).toBe(200);
    expect(await outcome(`${e.url}/health`)).toBe(200);
    expect(await outcome(e.metricsUrl)).toBe(200);
  });
  test("llama.cpp: /health and /v1/models public, /metrics guarded", async () => {
    const e = await start({ engine: "llamacpp", apiKey: KEY });
    expect(await outcome(`${e.url}/v1/models`)).toBe(200);
    expect(await outcome(`${e.url}/health`)).toBe(200);
    const m = await fetch(e.metricsUrl);
    expect(m.status).toBe(401);
    expect(((await m.json()) as { error: { type: string } }).error.type).toBe("authentication_error");
    expect(await outcome(e.metricsUrl, { headers: H })).toBe(200);
  });
  test("TGI: info routes never guarded", async () => {
    const e = await start({ engine: "tgi", apiKey: KEY });
    for (const p of ["/health", "/info", "/v1/models", "/metrics"])
      expect(await outcome(`${e.url}${p}`)).toBe(200);
  });
});
