// The model API (the sidecar in process, app.request): /v1/model/download (AIBrix body and card, single download for
// repeated calls, failures as status "failed"), /v1/model/list (from disk, B11, B12, survives restarts),
// /v1/model/status with progress, DELETE /v1/model/{name} (refused while downloading or in use).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { serve, type Server } from "../../platform/serve.ts";
import { type FakeHfHub, startFakeHfHub } from "../fakes/hf-hub.ts";
import { type FakeS3, startFakeS3 } from "../fakes/s3.ts";
import { type InProcessSidecar, sampleValue, startInProcess } from "../helpers/inproc.ts";
import { waitUntil } from "../helpers/sidecar.ts";
import { MiB, randomPayload, sha256, sha256File, tempDir, removeTempDirs } from "./helpers.ts";

const AK = "AKIDAPI";
const SK = "api-secret-key-1";
let s3: FakeS3;
let hub: FakeHfHub;
let engine: Server;
let engineModels: string[] = [];
let sidecar: InProcessSidecar;
let local: string;
let staged: string;
let env: Record<string, string>;
const big = randomPayload(16 * MiB);
const cfg = randomPayload(1000);

beforeAll(async () => {
  s3 = startFakeS3({ credentials: [{ accessKeyId: AK, secretAccessKey: SK }] });
  await s3.put("bkt", "llm/m1/model.bin", big);
  await s3.put("bkt", "llm/m1/config.json", cfg);
  await s3.put("bkt", "llm/served/config.json", cfg);
  await s3.put("bkt", "llm/broken/model.bin", cfg);
  s3.fault("bkt", "llm/broken/model.bin", { status: { code: 403, times: 1000 } });
  hub = await startFakeHfHub();
  await hub.addRepo("org/tiny", [{ path: "config.json", body: cfg }]);
  engine = serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req) =>
      new URL(req.url).pathname === "/v1/models"
        ? Response.json({ object: "list", data: engineModels.map((id) => ({ id, object: "model" })) })
        : new Response("ok"),
  });
  local = await tempDir("api");
  staged = await tempDir("inplace-root"); // in_place sources must be inside a download root (C10)
  env = {
    AIRUNTIME_DOWNLOAD_ROOTS: staged,
    AWS_ENDPOINT_URL: s3.url,
    AWS_ACCESS_KEY_ID: AK,
    AWS_SECRET_ACCESS_KEY: SK,
    HF_ENDPOINT: hub.url,
    DOWNLOADER_LOCAL_DIR: local,
    DOWNLOADER_NUM_THREADS: "4",
    DOWNLOADER_PART_CHUNKSIZE: "1MiB",
    INFERENCE_ENGINE_ENDPOINT: engine.url,
  };
  sidecar = await startInProcess(env);
});
afterAll(async () => {
  await sidecar?.stop();
  await s3.stop();
  await hub.stop();
  await engine.stop(0);
});

const req = (path: string, init: RequestInit = {}) => Promise.resolve(sidecar.app.request(path, init));
const S3_BYTES = 'aibrix:model_download_bytes_total{source="s3"}';
const S3_AUTH_FAILURES = 'aibrix:model_download_failures_total{source="s3",reason="auth"}';
// Download metrics live in the process-wide registry, which other in-process sidecars of this test process
// add to: what this file's downloads counted is the difference from the value before them.
const metricsText = async () => (await req("/metrics")).text();

const post = (body: unknown) =>
  req(`/v1/model/download`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
const status = async (name: string) =>
  (await req(`/v1/model/status?model_name=${encodeURIComponent(name)}`)).json() as Promise<
    Record<string, any>
  >;
const list = async () =>
  ((await (await req(`/v1/model/list`)).json()) as { data: Array<Record<string, string>> }).data;

describe("model API", () => {
  test("download returns at once; repeated calls never start a second transfer; status shows progress", async () => {
    s3.resetStats();
    const before = await metricsText();
    s3.throttle.bytesPerSec = 2 * MiB; // per connection: ~2 s for the model
    const r1 = await post({ model_uri: "s3://bkt/llm/m1" });
    expect(r1.status).toBe(200);
    expect(await r1.json()).toEqual({
      model_name: "m1",
      model_root_path: join(local, "m1"),
      source: "s3",
      model_status: "downloading",
    });
    const r2 = await post({ model_uri: "s3://bkt/llm/m1", download_extra_config: { num_threads: 8 } });
    expect((await r2.json()).model_status).toBe("downloading");
    const mid = await waitUntil(async () => {
      const s = await status("m1");
      return s.progress && s.progress.bytes_done > 0 ? s : null;
    });
    expect(mid!.model_status).toBe("downloading");
    expect(Object.keys(mid!.progress).sort()).toEqual([
      "bytes_done",
      "bytes_total",
      "eta",
      "files_done",
      "files_total",
      "phase",
      "rate",
    ]);
    expect(mid!.progress.bytes_total).toBe(big.length + cfg.length);
    const del = await req(`/v1/model/m1`, { method: "DELETE" });
    expect(del.status).toBe(409);
    s3.throttle.bytesPerSec = 0;
    await waitUntil(async () => (await status("m1")).model_status === "downloaded", 20_000);
    expect(s3.totalBytes()).toBe(big.length + cfg.length);
    expect(await sha256File(join(local, "m1", "model.bin"))).toBe(sha256(big));
    const metrics = await metricsText();
    expect(metrics).toMatch(/aibrix:model_download_bytes_total\{source="s3"\} (\d+)/);
    expect(sampleValue(metrics, S3_BYTES) - sampleValue(before, S3_BYTES)).toBe(big.length + cfg.length);
    expect(metrics).toContain("aibrix:model_download_duration_seconds_bucket");
    const again = await post({ model_uri: "s3://bkt/llm/m1" });
    expect((await again.json()).model_status).toBe("downloaded");
    expect(s3.totalBytes()).toBe(big.length + cfg.length);
  });

  test("a failure after the listing shows as status failed with its reason (B14)", async () => {
    const before = await metricsText();
    const r = await post({ model_uri: "s3://bkt/llm/broken" });
    expect((await r.json()).model_status).toBe("downloading");
    const s = await waitUntil(async () => {
      const x = await status("broken");
      return x.model_status === "failed" ? x : null;
    });
    expect(s!.error.reason).toBe("auth");
    expect(s!.error.message).toContain("llm/broken/model.bin");
    const metrics = await metricsText();
    expect(sampleValue(metrics, S3_AUTH_FAILURES) - sampleValue(before, S3_AUTH_FAILURES)).toBe(1);
    // A source that does not exist is 404 at once, as AIBrix answers (nothing is started).
    const missing = await post({ model_uri: "s3://bkt/llm/nope" });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ object: "error", type: "ModelNotFoundError", code: 404 });
  });

  test("bad URI and missing credentials are 422 InvalidArgumentError", async () => {
    const bad = await post({ model_uri: "ftp://x/y" });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ object: "error", type: "InvalidArgumentError", code: 422 });
    const creds = await post({ model_uri: "gs://bkt/llm/m1", download_extra_config: { ak: "only-ak" } });
    expect(creds.status).toBe(422);
    const extra = await post({ model_uri: "s3://bkt/llm/m1", download_extra_config: { bogus: 1 } });
    expect(extra.status).toBe(422);
  });

  test("in_place: a local directory is used where it is (nothing copied); other sources are refused", async () => {
    const src = join(staged, "inplace-src");
    await mkdir(join(src, "weights"), { recursive: true });
    await writeFile(join(src, "weights", "config.json"), cfg);
    const res = await post({
      model_uri: src,
      model_name: "inplace",
      download_extra_config: { in_place: true },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      model_name: "inplace",
      model_root_path: src,
      source: "local",
      model_status: "downloaded",
    });
    expect((await list()).some((m) => m.model_name === "inplace")).toBe(false); // nothing landed in local_dir
    const remote = await post({ model_uri: "s3://bkt/llm/m1", download_extra_config: { in_place: true } });
    expect(remote.status).toBe(422);
    expect((await remote.json()).message).toContain("only local paths can be used in place");
    const missing = await post({ model_uri: join(src, "nope"), download_extra_config: { in_place: true } });
    expect(missing.status).toBe(404);
  });

  test("list: HF source is huggingface (B12); an empty directory is not downloaded (B11)", async () => {
    await post({ model_uri: "org/tiny" });
    await waitUntil(async () => (await status("org/tiny")).model_status === "downloaded");
    await mkdir(join(local, "empty", ".cache", "s3", "download"), { recursive: true });
    const data = await list();
    const by = Object.fromEntries(data.map((d) => [d.model_name, d]));
    expect(by["org/tiny"]).toEqual({
      model_name: "org/tiny",
      model_root_path: join(local, "org/tiny"),
      source: "huggingface",
      model_status: "downloaded",
    });
    expect(by.m1!.model_status).toBe("downloaded");
    expect(by.empty!.model_status).toBe("no_operation");
    expect(by.broken!.model_status).toBe("failed");
  });

  test("delete is refused while the engine serves the model, then works", async () => {
    await post({ model_uri: "s3://bkt/llm/served" });
    await waitUntil(async () => (await status("served")).model_status === "downloaded");
    engineModels = ["served"];
    const refused = await req(`/v1/model/served`, { method: "DELETE" });
    expect(refused.status).toBe(409);
    expect((await refused.json()).message).toContain("in use");
    engineModels = [];
    const ok = await req(`/v1/model/served`, { method: "DELETE" });
    expect(ok.status).toBe(200);
    expect((await list()).some((d) => d.model_name === "served")).toBe(false);
    expect((await req(`/v1/model/served`, { method: "DELETE" })).status).toBe(404);
  });

  test("list and status survive a restart", async () => {
    await sidecar.stop();
    sidecar = await startInProcess(env);
    const data = await list();
    expect(data.find((d) => d.model_name === "m1")?.model_status).toBe("downloaded");
    expect((await status("broken")).model_status).toBe("failed");
  });
});

afterAll(() => removeTempDirs());
