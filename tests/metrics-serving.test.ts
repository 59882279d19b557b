// Serving /metrics (the sidecar in process, app.request): no redirect, content negotiation (text 0.0.4, OpenMetrics, gzip),
// several endpoints aggregated (rank label in passthrough, sums in aibrix:*), API request metrics by route
// template, and LoRA info synthesized from the sidecar's adapter registry for an engine without it.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { type MockEngine, startMockEngine } from "../mock/index.ts";
import { parseExposition } from "../metrics/parse.ts";
import { type InProcessSidecar, startInProcess } from "./helpers/inproc.ts";
import { call, writeAdapterDir } from "./helpers/lora.ts";
import { waitUntil } from "./helpers/sidecar.ts";

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function mock(engine: "vllm" | "sglang", model: string, seed: number): Promise<MockEngine> {
  const m = await startMockEngine({ engine, port: 0, tickMs: 1e9, model, seed });
  cleanup.push(() => m.stop());
  await m.whenReady();
  m.step(40);
  return m;
}

async function sidecar(env: Record<string, string>): Promise<InProcessSidecar> {
  const p = await startInProcess({ AIRUNTIME_METRICS_INTERVAL: "0.05", ...env });
  cleanup.push(() => p.stop());
  return p;
}

/** A request through the app, as a client would send it. */
const req = (s: InProcessSidecar, path: string, init: RequestInit = {}) =>
  Promise.resolve(s.app.request(path, init));

/** Raw bytes and headers (app.request never decompresses). */
async function rawGet(
  s: InProcessSidecar,
  path: string,
  headers: Record<string, string>,
): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
  const r = await req(s, path, { headers });
  return {
    headers: Object.fromEntries(r.headers.entries()),
    body: Buffer.from(await r.arrayBuffer()),
  };
}

const value = (text: string, name: string, match: Record<string, string> = {}) =>
  parseExposition(text)
    .families.flatMap((f) => f.samples)
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);

describe("/metrics serving", () => {
  test("two endpoints: 200 on /metrics and /metrics/, text 0.0.4, OpenMetrics, gzip, rank labels and sums", async () => {
    const a = await mock("vllm", "dp-model", 1);
    const b = await mock("vllm", "dp-model", 2);
    const s = await sidecar({ INFERENCE_ENGINE: "vllm", INFERENCE_ENGINE_ENDPOINT: `${a.url},${b.url}` });
    const text = (await waitUntil(async () => {
      const t = await (await req(s, "/metrics")).text();
      return t.includes('rank="1"') && t.includes("aibrix:queue_size") && t;
    })) as string;

    for (const path of ["/metrics", "/metrics/"]) {
      const r = await req(s, path);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      await r.arrayBuffer();
    }

    // Passthrough keeps each rank apart; aibrix:* sums them.
    const rawA = await (await fetch(a.metricsUrl)).text();
    const rawB = await (await fetch(b.metricsUrl)).text();
    for (const [rank, raw] of [
      ["0", rawA],
      ["1", rawB],
    ] as const)
      expect(value(text, "vllm:prompt_tokens_total", { rank })).toBe(value(raw, "vllm:prompt_tokens_total"));
    expect(value(text, "aibrix:prompt_tokens_total")).toBe(
      value(rawA, "vllm:prompt_tokens_total") + value(rawB, "vllm:prompt_tokens_total"),
    );
    expect(value(text, "aibrix:time_to_first_token_seconds_count")).toBe(
      value(rawA, "vllm:time_to_first_token_seconds_count") +
        value(rawB, "vllm:time_to_first_token_seconds_count"),
    );
    expect(text).toContain('aibrix:engine_up{rank="0"} 1');
    expect(text).toContain('aibrix:engine_up{rank="1"} 1');

    // OpenMetrics on request, ending in # EOF, counters named without _total in TYPE.
    const om = await req(s, "/metrics", {
      headers: { accept: "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5" },
    });
    expect(om.headers.get("content-type")).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
    const omText = await om.text();
    expect(omText.endsWith("# EOF\n")).toBe(true);
    expect(omText).toContain("# TYPE aibrix:prompt_tokens counter\n");
    expect(parseExposition(omText).errorCount).toBe(0);

    // gzip on request: one valid stream (members concatenated) holding the same families.
    const gz = await rawGet(s, "/metrics", { "accept-encoding": "gzip, deflate" });
    expect(gz.headers["content-encoding"]).toBe("gzip");
    const unzipped = gunzipSync(gz.body).toString();
    const names = (t: string) => parseExposition(t).families.map((f) => f.name);
    expect(names(unzipped)).toEqual(names(await (await req(s, "/metrics")).text()));
    // ?name[]= keeps only the named families (prometheus_client's filter, which the AIBrix runtime has).
    const filtered = await (await req(s, "/metrics?name[]=aibrix:queue_size&name[]=aibrix:engine_up")).text();
    expect(names(filtered)).toEqual(["aibrix:engine_up", "aibrix:queue_size"]);
    const gzOm = await rawGet(s, "/metrics", {
      "accept-encoding": "gzip",
      accept: "application/openmetrics-text",
    });
    expect(gunzipSync(gzOm.body).toString().endsWith("# EOF\n")).toBe(true);
  }, 20_000);

  test("API request metrics use the route template (bounded cardinality)", async () => {
    const s = await sidecar({ INFERENCE_ENGINE: "vllm" });
    await req(s, "/v1/model/first-model", { method: "DELETE" });
    await req(s, "/v1/model/second-model", { method: "DELETE" });
    await req(s, "/no/such/path/123");
    await req(s, "/healthz");
    const text = await (await req(s, "/metrics")).text();
    const endpoints = parseExposition(text)
      .families.find((f) => f.name === "aibrix:api_request_total")!
      .samples.map((x) => x.labels.endpoint);
    expect(endpoints).toContain("/healthz");
    expect(endpoints).toContain("unmatched");
    expect(endpoints.some((e) => e?.includes("first-model") || e?.includes("second-model"))).toBe(false);
    expect(endpoints.filter((e) => e?.startsWith("/v1/model/:")).length).toBe(1);
    expect(text).toMatch(
      /aibrix:api_request_latency_bucket\{method="GET",endpoint="\/healthz",status="200",le="0\.1"\} 1/,
    );
    expect(text).toMatch(/aibrix:info_info\{engine="vllm",engine_version="[^"]*",version="[^"]+"\} 1/);
  }, 20_000);

  test("SGLang (no LoRA metric): aibrix:lora_requests_info comes from the sidecar's adapter registry", async () => {
    const m = await mock("sglang", "lora-base", 5);
    const dir = mkdtempSync(join(tmpdir(), "airuntime-metrics-lora-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const s = await sidecar({
      INFERENCE_ENGINE: "sglang",
      INFERENCE_ENGINE_ENDPOINT: m.url,
      AIRUNTIME_STATE_DIR: join(dir, "state"),
      AIRUNTIME_ADAPTERS_DIR: join(dir, "adapters"),
    });
    const path = await writeAdapterDir(join(dir, "src", "sql-lora"), "sql-lora");
    await waitUntil(async () => (await req(s, "/ready")).status === 200);
    const load = await call(s.app, "/v1/lora_adapter/load", { lora_name: "sql-lora", lora_path: path });
    expect(load.status).toBe(200);
    const text = (await waitUntil(async () => {
      const t = await (await req(s, "/metrics")).text();
      return /running_lora_adapters="sql-lora"/.test(t) && t;
    })) as string;
    const info = parseExposition(text).families.find((f) => f.name === "aibrix:lora_requests_info")!;
    expect(info.type).toBe("gauge");
    expect(info.samples).toHaveLength(1);
    expect(Object.keys(info.samples[0]!.labels).sort()).toEqual([
      "max_lora",
      "running_lora_adapters",
      "waiting_lora_adapters",
    ]);
    expect(Math.abs(info.samples[0]!.value - Date.now() / 1000)).toBeLessThan(60);
  }, 20_000);
});
