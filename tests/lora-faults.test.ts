// The LoRA API under retries, concurrency and engine faults, against the sidecar in process (app.request)
// and the mock engine over real sockets: 20 concurrent loads (one download, one engine call), engine down then back, engine restart
// (adapters reloaded without being asked), bad input (4xx, nothing on disk), engines without LoRA (501),
// sleep/wake (idempotent by operation_id; 409 without the capability).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { startMockEngine } from "../mock/index.ts";
import { startFakeS3 } from "./fakes/s3.ts";
import { adapterFiles, call, mockStats, writeAdapterDir } from "./helpers/lora.ts";
import { sampleValue, startInProcess } from "./helpers/inproc.ts";
import { waitUntil } from "./helpers/sidecar.ts";

const RETRY_WORDS = /connection refused|connection reset|timeout|service unavailable|bad gateway/;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "lora-faults-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const sidecarEnv = (engine: string, url: string, dir: string, extra: Record<string, string> = {}) => ({
  INFERENCE_ENGINE: engine,
  INFERENCE_ENGINE_ENDPOINT: url,
  AIRUNTIME_ADAPTERS_DIR: join(dir, "adapters"),
  AIRUNTIME_STATE_DIR: join(dir, "state"),
  AIRUNTIME_CREDENTIALS_DIR: join(dir, "secrets"),
  ...extra,
});

test("20 concurrent loads of one adapter: all 200, one download, one engine load call", async () => {
  const s3 = startFakeS3({ credentials: [{ accessKeyId: "AKIDLORA", secretAccessKey: "lora-secret-key" }] });
  for (const [f, bytes] of Object.entries(adapterFiles("c20"))) await s3.put("bkt", `loras/c20/${f}`, bytes);
  s3.throttle.bytesPerSec = 256 * 1024; // the download takes a moment, so the loads really overlap
  const mock = await startMockEngine({ engine: "vllm", port: 0 });
  const dir = join(tmp, "c20");
  const side = await startInProcess(sidecarEnv("vllm", mock.url, dir, { AWS_ENDPOINT_URL: s3.url }));
  try {
    s3.resetStats();
    // LoRA counters live in the process-wide registry (other in-process sidecars of this test process add
    // to them): this test's 20 loads are the difference.
    const LOADS = 'aibrix:lora_adapter_load_total{engine_kind="vllm",result="success"}';
    const DURATIONS = 'aibrix:lora_adapter_load_duration_seconds_count{engine_kind="vllm",result="success"}';
    const before = await (await side.app.request("/metrics")).text();
    const body = {
      lora_name: "c20",
      artifact_url: "s3://bkt/loras/c20/",
      credentials: {
        aws_access_key_id: "AKIDLORA",
        aws_secret_access_key: "lora-secret-key",
        aws_region: "us-east-1",
      },
    };
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => call(side.app, "/v1/lora_adapter/load", body)),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(new Set(replies.map((r) => r.json.local_path))).toEqual(new Set([join(dir, "adapters", "c20")]));
    for (const f of Object.keys(adapterFiles("c20")))
      expect(s3.stats("bkt", `loras/c20/${f}`).requests).toBe(1);
    const stats = await mockStats(mock.url);
    expect(stats.calls.c20).toEqual({ load: 1, unload: 0 });
    // Metrics: every request counted by result, the duration observed, one adapter loaded.
    const metrics = await (await side.app.request("/metrics")).text();
    expect(sampleValue(metrics, LOADS) - sampleValue(before, LOADS)).toBe(20);
    expect(sampleValue(metrics, DURATIONS) - sampleValue(before, DURATIONS)).toBe(20);
    expect(metrics).toContain('aibrix:lora_adapters_loaded{engine_kind="vllm"} 1');
    // The secret never shows up in the sidecar's logs.
    expect(side.output()).not.toContain("lora-secret-key");
  } finally {
    await side.stop();
    await mock.stop();
    await s3.stop();
  }
});

test("a download longer than the request wait keeps running; a repeated load joins it (credentials_secret files)", async () => {
  const s3 = startFakeS3({ credentials: [{ accessKeyId: "AKIDSLOW", secretAccessKey: "slow-secret-key" }] });
  for (const [f, bytes] of Object.entries(adapterFiles("slow")))
    await s3.put("bkt", `loras/slow/${f}`, bytes);
  s3.throttle.bytesPerSec = 16 * 1024; // ~4 s for the 64 KiB weights
  const mock = await startMockEngine({ engine: "vllm", port: 0 });
  const dir = join(tmp, "slow");
  await mkdir(join(dir, "secrets", "s3-creds"), { recursive: true });
  await writeFile(join(dir, "secrets", "s3-creds", "aws_access_key_id"), "AKIDSLOW\n");
  await writeFile(join(dir, "secrets", "s3-creds", "aws_secret_access_key"), "slow-secret-key\n");
  // Requests wait ~3 s (one 1 s engine deadline + 2 s), less than the download takes.
  const side = await startInProcess(
    sidecarEnv("vllm", mock.url, dir, { AWS_ENDPOINT_URL: s3.url, AIRUNTIME_ENGINE_TIMEOUT: "1" }),
  );
  try {
    const body = { lora_name: "slow", artifact_url: "s3://bkt/loras/slow/", credentials_secret: "s3-creds" };
    const first = await call(side.app, "/v1/lora_adapter/load", body);
    expect(first.status).toBe(503);
    expect(first.text.toLowerCase()).toMatch(RETRY_WORDS);
    const done = await waitUntil(async () => {
      const r = await call(side.app, "/v1/lora_adapter/load", body);
      return r.status === 200 ? r : null;
    }, 20_000);
    expect(done!.json.local_path).toBe(join(dir, "adapters", "slow"));
    for (const f of Object.keys(adapterFiles("slow")))
      expect(s3.stats("bkt", `loras/slow/${f}`).requests).toBe(1);
    expect(mock.counters().slow).toEqual({ load: 1, unload: 0 });
    expect(side.output()).not.toContain("slow-secret-key");
  } finally {
    await side.stop();
    await mock.stop();
    await s3.stop();
  }
}, 30_000);

test("engine down: 503 with a retry word; engine back: the same request succeeds", async () => {
  const probe = await startMockEngine({ engine: "vllm", port: 0 });
  const port = Number(new URL(probe.url).port);
  await probe.stop();
  const dir = join(tmp, "down");
  const adapter = await writeAdapterDir(join(dir, "src"), "down");
  const side = await startInProcess(sidecarEnv("vllm", `http://127.0.0.1:${port}`, dir));
  const body = { lora_name: "down1", artifact_url: adapter };
  try {
    const r = await call(side.app, "/v1/lora_adapter/load", body);
    expect(r.status).toBe(503);
    expect(r.text.toLowerCase()).toMatch(RETRY_WORDS);
    const direct = await call(side.app, "/v1/lora_adapter/load", { lora_name: "down2", lora_path: adapter });
    expect(direct.status).toBe(503);
    expect(direct.text.toLowerCase()).toMatch(RETRY_WORDS);
    const mock = await startMockEngine({ engine: "vllm", port });
    try {
      const again = await waitUntil(async () => {
        const x = await call(side.app, "/v1/lora_adapter/load", body);
        return x.status === 200 ? x : null;
      });
      expect(again!.json.local_path).toBe(adapter);
      expect((await mockStats(mock.url)).adapters.down1).toBe(adapter);
    } finally {
      await mock.stop();
    }
  } finally {
    await side.stop();
  }
});

test("a hung engine: the call has a deadline (504 timeout), far below the controller's 30 s", async () => {
  const sockets: Socket[] = [];
  const hung = createServer((sock) => sockets.push(sock)); // accepts, never answers
  await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
  const port = (hung.address() as { port: number }).port;
  const dir = join(tmp, "hung");
  const adapter = await writeAdapterDir(join(dir, "src"), "hung");
  const side = await startInProcess(
    sidecarEnv("vllm", `http://127.0.0.1:${port}`, dir, { AIRUNTIME_ENGINE_TIMEOUT: "1" }),
  );
  try {
    // The engine never answers: a 504 naming the timeout at all is the deadline at work.
    const r = await call(side.app, "/v1/lora_adapter/load", { lora_name: "hung", artifact_url: adapter });
    expect(r.status).toBe(504);
    expect(r.json.error).toContain("timeout");
  } finally {
    await side.stop();
    for (const s of sockets) s.destroy();
    hung.close();
  }
});

for (const engine of ["vllm", "sglang"] as const) {
  test(`${engine} restart: the sidecar loads its adapters again without being asked (engine with an API key)`, async () => {
    const mock = await startMockEngine({ engine, port: 0, apiKey: "sk-heal-key" });
    const auth = { authorization: "Bearer sk-heal-key" };
    const dir = join(tmp, `restart-${engine}`);
    const a = await writeAdapterDir(join(dir, "src-a"), "a");
    const b = await writeAdapterDir(join(dir, "src-b"), "b");
    const side = await startInProcess(sidecarEnv(engine, mock.url, dir));
    try {
      const ra = await call(side.app, "/v1/lora_adapter/load", { lora_name: "ra", artifact_url: a }, auth);
      expect(ra.status).toBe(200);
      const rb = await call(side.app, "/v1/lora_adapter/load", { lora_name: "rb", lora_path: b }, auth);
      expect(rb.status).toBe(200);
      await mock.restart();
      const stats = await waitUntil(async () => {
        const s = await mockStats(mock.url);
        return s.adapters.ra === a && s.adapters.rb === b ? s : null;
      }, 15_000);
      expect(stats!.adapters).toMatchObject({ ra: a, rb: b });
      await side.waitFor(/adapter reloaded after engine restart/);
      const list = await call(side.app, "/v1/lora_adapter", undefined, auth);
      expect(list.json.data.map((x: { name: string }) => x.name).sort()).toEqual(["ra", "rb"]);
      expect(side.output()).not.toContain("sk-heal-key");
    } finally {
      await side.stop();
      await mock.stop();
    }
  });
}

test("the registry survives a sidecar restart: adapters the engine lost meanwhile are loaded again", async () => {
  const mock = await startMockEngine({ engine: "vllm", port: 0 });
  const dir = join(tmp, "sidecar-restart");
  const a = await writeAdapterDir(join(dir, "src"), "persist");
  let side = await startInProcess(sidecarEnv("vllm", mock.url, dir));
  try {
    expect(
      (await call(side.app, "/v1/lora_adapter/load", { lora_name: "persist", artifact_url: a })).status,
    ).toBe(200);
    await side.stop();
    await mock.restart(0); // the engine forgets its adapters while no sidecar runs
    await mock.whenReady();
    expect(mock.loaded()).toEqual({});
    side = await startInProcess(sidecarEnv("vllm", mock.url, dir));
    await waitUntil(() => mock.loaded().persist === a);
    const list = await call(side.app, "/v1/lora_adapter");
    expect(list.json.data[0]).toMatchObject({
      name: "persist",
      source: a,
      path: a,
      state: "loaded",
      in_engine: true,
    });
  } finally {
    await side.stop();
    await mock.stop();
  }
});

describe("bad input and missing capabilities", () => {
  let mock: Awaited<ReturnType<typeof startMockEngine>>;
  let tgi: Awaited<ReturnType<typeof startMockEngine>>;
  let side: Awaited<ReturnType<typeof startInProcess>>;
  let tgiSide: Awaited<ReturnType<typeof startInProcess>>;
  const dir = () => join(tmp, "bad");

  beforeAll(async () => {
    mock = await startMockEngine({ engine: "vllm", port: 0, model: "base-model" });
    tgi = await startMockEngine({ engine: "tgi", port: 0 });
    side = await startInProcess(sidecarEnv("vllm", mock.url, dir()));
    tgiSide = await startInProcess(sidecarEnv("tgi", tgi.url, join(tmp, "tgi")));
  });
  afterAll(async () => {
    await side?.stop();
    await tgiSide?.stop();
    await mock?.stop();
    await tgi?.stop();
  });

  test("bad names, unknown fields, wrong types: 4xx and nothing created on disk", async () => {
    const cases: unknown[] = [
      { lora_name: "../x", artifact_url: "s3://bkt/x/" },
      { lora_name: "a/b", artifact_url: "s3://bkt/x/" },
      { lora_name: "x".repeat(200), artifact_url: "s3://bkt/x/" },
      { lora_name: "../x", lora_path: "/tmp" },
      { lora_name: "ok", artifact_url: "s3://bkt/x/", unknown_field: 1 },
      { lora_name: "ok", lora_path: "/tmp", extra: true },
      { lora_name: 5, artifact_url: "s3://bkt/x/" },
      { lora_name: "ok", artifact_url: ["s3://bkt/x/"] },
      { lora_name: "ok", artifact_url: "s3://bkt/x/", credentials: "nope" },
      { lora_name: "ok", artifact_url: "ftp://b/x/" },
      { lora_name: "ok", artifact_url: "relative/path" },
      { lora_name: "ok", artifact_url: "s3://bkt/x/", local_dir: "/etc" },
      { lora_name: "ok", artifact_url: "s3://bkt/x/", credentials_secret: "../../etc" },
      { lora_name: "ok", artifact_url: "s3://" },
      { lora_name: "ok", artifact_url: "hf://" },
      {},
      "not json",
    ];
    for (const body of cases) {
      const r = await call(side.app, "/v1/lora_adapter/load", body);
      expect({ body, status: r.status >= 400 && r.status < 500 }).toEqual({ body, status: true });
    }
    const unloads: unknown[] = [
      { lora_name: "../x" },
      { lora_name: "ok", cleanup_local: "yes" },
      { lora_name: "ok", foo: 1 },
    ];
    for (const body of unloads) {
      const r = await call(side.app, "/v1/lora_adapter/unload", body);
      expect({ body, status: r.status >= 400 && r.status < 500 }).toEqual({ body, status: true });
    }
    const r = await call(side.app, "/v1/lora_adapter/load", {
      lora_name: "ok",
      artifact_url: "s3://bkt/x/",
      bad: 1,
    });
    expect(r.status).toBe(422);
    expect(r.json.detail[0]).toEqual({
      type: "extra_forbidden",
      loc: ["body", "LoadLoraAdapterRuntimeRequest", "bad"],
      msg: "Extra inputs are not permitted",
      input: 1,
    });
    expect(r.json.detail.map((d: { loc: string[] }) => d.loc[1])).toContain("LoadLoraAdapterRequest");
    expect(await stat(join(dir(), "adapters")).catch(() => null)).toBeNull();
    expect(await stat(join(tmp, "x")).catch(() => null)).toBeNull();
    expect(await stat(join(dir(), "state", "lora-adapters.json")).catch(() => null)).toBeNull();
    expect((await mockStats(mock.url)).calls).toEqual({});
  });

  test("unload of an adapter the engine does not have: 404 with the engine's reason", async () => {
    const r = await call(side.app, "/v1/lora_adapter/unload", { lora_name: "never-loaded" });
    expect(r.status).toBe(404);
    expect(r.json.error).toContain("never-loaded");
    const d = await call(side.app, "/v1/lora_adapter/unload", { lora_name: "never-loaded", lora_int_id: 3 });
    expect(d.status).toBe(404);
    expect(d.json).toMatchObject({ object: "error", type: "NotFoundError", code: 404 });
  });

  test("one name rule (B17): a 128-character name with dots loads end to end, 129 characters does not", async () => {
    const src = await writeAdapterDir(join(tmp, "dotted-src"), "dotted");
    const name = `my.adapter-v1_${"x".repeat(114)}`;
    expect(name.length).toBe(128);
    const r = await call(side.app, "/v1/lora_adapter/load", { lora_name: name, lora_path: src });
    expect(r.status).toBe(200);
    expect(r.text).toBe(`Success: LoRA adapter '${name}' loaded successfully from '${src}'.`);
    expect(r.contentType).toBeNull(); // AIBrix's bare Response: no Content-Type
    expect(mock.loaded()[name]).toBe(src);
    const long = await call(side.app, "/v1/lora_adapter/load", { lora_name: `${name}x`, lora_path: src });
    expect(long.status).toBe(400);
    const u = await call(side.app, "/v1/lora_adapter/unload", { lora_name: name, lora_int_id: null });
    expect(u.status).toBe(200);
    expect(u.text).toBe(`Success: LoRA adapter '${name}' unloaded successfully.`);
  });

  test("a missing local path is a 404, not a 500", async () => {
    const r = await call(side.app, "/v1/lora_adapter/load", {
      lora_name: "gone",
      artifact_url: join(tmp, "no-such-dir"),
    });
    expect(r.status).toBe(404);
    expect(r.json.error).toContain("not found");
  });

  test("TGI has no runtime LoRA: 501 naming the engine and the capability", async () => {
    const r = await call(tgiSide.app, "/v1/lora_adapter/load", { lora_name: "x", lora_path: "/tmp" });
    expect(r.status).toBe(501);
    expect(r.text).toContain("'tgi'");
    expect(r.text).toContain("lora_load");
    const u = await call(tgiSide.app, "/v1/lora_adapter/unload", { lora_name: "x" });
    expect(u.status).toBe(501);
    expect(u.text).toContain("lora_unload");
  });

  test("sleep and wake: AIBrix reply, idempotent by operation_id; 409 without the capability; 404 unknown model", async () => {
    const sleep = { model_name: "base-model", level: 1, operation_id: "op-1" };
    const s1 = await call(side.app, "/v1/runtime/models/sleep", sleep);
    expect(s1.status).toBe(200);
    expect(s1.json).toEqual({
      status: "success",
      model_name: "base-model",
      operation_id: "op-1",
      applied: true,
      phase: "sleeping",
    });
    const s2 = await call(side.app, "/v1/runtime/models/sleep", sleep);
    expect(s2.json).toMatchObject({ applied: false, phase: "sleeping" });
    const w1 = await call(side.app, "/v1/runtime/models/wake", {
      model_name: "base-model",
      operation_id: "op-2",
    });
    expect(w1.json).toEqual({
      status: "success",
      model_name: "base-model",
      operation_id: "op-2",
      applied: true,
      phase: "active",
    });
    const w2 = await call(side.app, "/v1/runtime/models/wake", {
      model_name: "base-model",
      operation_id: "op-2",
    });
    expect(w2.json).toMatchObject({ applied: false, phase: "active" });
    const unknown = await call(side.app, "/v1/runtime/models/sleep", { ...sleep, model_name: "nope" });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ detail: "model 'nope' is not active" });
    const bad = await call(side.app, "/v1/runtime/models/sleep", { ...sleep, level: 3 });
    expect(bad.status).toBe(422);
    const t = await call(tgiSide.app, "/v1/runtime/models/sleep", sleep);
    expect(t.status).toBe(409);
    expect(t.json).toEqual({ detail: "sleep is unsupported for engine 'tgi'" });
  });
});

test("SGLang sleep/wake through the sidecar: release and resume memory occupation", async () => {
  const mock = await startMockEngine({ engine: "sglang", port: 0, model: "base-model" });
  const side = await startInProcess(sidecarEnv("sglang", mock.url, join(tmp, "sglang-sleep")));
  try {
    const s = await call(side.app, "/v1/runtime/models/sleep", {
      model_name: "base-model",
      level: 2,
      operation_id: "s1",
    });
    expect(s.json).toEqual({
      status: "success",
      model_name: "base-model",
      operation_id: "s1",
      applied: true,
      phase: "sleeping",
    });
    expect((await mockStats(mock.url)).sleepLevel).not.toBe(0);
    const w = await call(side.app, "/v1/runtime/models/wake", {
      model_name: "base-model",
      operation_id: "w1",
    });
    expect(w.json).toMatchObject({ applied: true, phase: "active" });
    expect((await mockStats(mock.url)).sleepLevel).toBe(0);
  } finally {
    await side.stop();
    await mock.stop();
  }
});
