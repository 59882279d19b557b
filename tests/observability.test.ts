// Every `aibrix:*` family the shipped dashboard and alert rules query is in the sidecar's live /metrics
// (compiled binary, mock vLLM, after a LoRA load and a model download from a fake S3), and the metrics keep
// their hygiene: one meaning per label, closed result/reason vocabularies, counters at 0 from start-up,
// per-model download progress.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LORA_RESULTS } from "../lora/metrics.ts";
import { SCRAPE_ERROR_REASONS } from "../metrics/poller.ts";
import { type MockEngine, startMockEngine } from "../mock/index.ts";
import { DOWNLOAD_SOURCES, FAIL_REASONS } from "../storage/metrics.ts";
import { type FakeS3, startFakeS3 } from "./fakes/s3.ts";
import { call, writeAdapterDir } from "./helpers/lora.ts";
import { queriedFamilies } from "./helpers/monitoring.ts";
import { type Proc, startSidecar, waitUntil } from "./helpers/sidecar.ts";

const AK = "AKIDOBS";
const SK = "observability-secret";
const model = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
let dir: string;
let s3: FakeS3;
let mock: MockEngine;
let sidecar: Proc;
let atStart = "";

const scrape = async () => (await fetch(`${sidecar.url}/metrics`)).text();
/** Sample lines of one family (name, then `{` or a space). */
const samples = (text: string, family: string) =>
  text.split("\n").filter((l) => l.startsWith(`${family}{`) || l.startsWith(`${family} `));
const value = (text: string, series: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "airuntime-obs-"));
  s3 = startFakeS3({ credentials: [{ accessKeyId: AK, secretAccessKey: SK }] });
  await s3.put("bkt", "llm/m1/model.bin", model);
  await s3.put("bkt", "llm/m1/config.json", new TextEncoder().encode("{}"));
  mock = await startMockEngine({ engine: "vllm", port: 0, model: "base-model", seed: 5 });
  sidecar = await startSidecar({
    INFERENCE_ENGINE: "vllm",
    INFERENCE_ENGINE_ENDPOINT: mock.url,
    AIRUNTIME_METRICS_INTERVAL: "0.2",
    AWS_ENDPOINT_URL: s3.url,
    AWS_ACCESS_KEY_ID: AK,
    AWS_SECRET_ACCESS_KEY: SK,
    DOWNLOADER_LOCAL_DIR: join(dir, "models"),
    AIRUNTIME_ADAPTERS_DIR: join(dir, "adapters"),
    AIRUNTIME_STATE_DIR: join(dir, "state"),
  });
  atStart = await scrape();
  const adapter = await writeAdapterDir(join(dir, "adapters", "obs-lora"), "obs-lora");
  expect(
    (await call(sidecar.url, "/v1/lora_adapter/load", { lora_name: "obs-lora", lora_path: adapter })).status,
  ).toBe(200);
  const missing = await call(sidecar.url, "/v1/lora_adapter/load", {
    lora_name: "gone",
    lora_path: join(dir, "adapters", "gone"),
  });
  expect(missing.status).toBeGreaterThanOrEqual(400);
  expect((await call(sidecar.url, "/v1/model/download", { model_uri: "s3://bkt/llm/m1" })).status).toBe(200);
  await waitUntil(async () => {
    const s = (await call(sidecar.url, "/v1/model/status?model_name=m1")).json;
    return s?.model_status === "downloaded";
  }, 20_000);
});

afterAll(async () => {
  await sidecar?.stop();
  await mock?.stop();
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("every aibrix:* family the dashboard and the alert rules query is in the live /metrics", async () => {
  expect(queriedFamilies.length).toBeGreaterThan(15);
  const text: string = await waitUntil(async () => {
    const t = await scrape();
    return t.includes("# TYPE aibrix:time_to_first_token_seconds") ? t : "";
  });
  const exposed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
  const missing = queriedFamilies.filter((f) => !exposed.has(f));
  expect(missing).toEqual([]);
});

test("counters with a closed vocabulary exist at 0 from start-up", () => {
  for (const reason of SCRAPE_ERROR_REASONS)
    expect(value(atStart, `aibrix:engine_scrape_errors_total{reason="${reason}"}`)).toBe(0);
  for (const result of LORA_RESULTS)
    expect(value(atStart, `aibrix:lora_adapter_load_total{engine_kind="vllm",result="${result}"}`)).toBe(0);
  for (const source of DOWNLOAD_SOURCES) {
    expect(value(atStart, `aibrix:model_download_bytes_total{source="${source}"}`)).toBe(0);
    for (const reason of FAIL_REASONS)
      expect(
        value(atStart, `aibrix:model_download_failures_total{source="${source}",reason="${reason}"}`),
      ).toBe(0);
  }
  expect(value(atStart, "aibrix:model_downloads_active")).toBe(0);
});

test("result is a closed vocabulary: a failed load is a word, never an HTTP status", async () => {
  const text = await scrape();
  const results = samples(text, "aibrix:lora_adapter_load_total").map((l) => /result="([^"]*)"/.exec(l)![1]);
  for (const r of results) expect(LORA_RESULTS as readonly string[]).toContain(r!);
  expect(value(text, 'aibrix:lora_adapter_load_total{engine_kind="vllm",result="success"}')).toBe(1);
  const failures = results.filter((r) => !["success", "already", "reloaded"].includes(r!));
  const failed = failures.reduce(
    (n, r) => n + value(text, `aibrix:lora_adapter_load_total{engine_kind="vllm",result="${r}"}`)!,
    0,
  );
  expect(failed).toBe(1);
  expect(text).not.toMatch(/result="\d{3}"/);
});

test("one label, one meaning: `engine` is vLLM's engine index except on AIBrix's aibrix:info_info", async () => {
  const text = await scrape();
  const withEngine = text.split("\n").filter((l) => !l.startsWith("#") && /[{,]engine="/.test(l));
  expect(withEngine.some((l) => l.startsWith("aibrix:queue_size{"))).toBe(true);
  for (const l of withEngine) {
    const v = /[{,]engine="([^"]*)"/.exec(l)![1]!;
    if (l.startsWith("aibrix:info_info{")) expect(v).toBe("vllm");
    else expect(v).toMatch(/^\d+$/);
  }
  expect(samples(text, "aibrix:lora_adapters_loaded")).toEqual([
    'aibrix:lora_adapters_loaded{engine_kind="vllm"} 1',
  ]);
});

test("per-model download progress: bytes on disk and in all", async () => {
  const text = await scrape();
  const size = model.length + 2;
  expect(value(text, 'aibrix:model_download_size_bytes{model_name="m1"}')).toBe(size);
  expect(value(text, 'aibrix:model_download_progress_bytes{model_name="m1"}')).toBe(size);
  expect(value(text, 'aibrix:model_download_bytes_total{source="s3"}')).toBe(size);
  expect(value(text, "aibrix:model_downloads_active")).toBe(0);
});
