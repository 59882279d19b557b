// Contract suite: every engine adapter against the mock engine personality of the same engine. What an
// adapter offers must work on the wire; what it lacks must be absent (callers then answer 501/409).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppError } from "../errors.ts";
import { startMockEngine } from "../mock/index.ts";
import { mockStats, writeAdapterDir } from "../tests/helpers/lora.ts";
import { waitUntil } from "../tests/helpers/sidecar.ts";
import { createEngineAdapter } from "./adapters.ts";
import { type Capability, capabilities, type EngineAdapter } from "./types.ts";

const EXPECTED: Record<string, Capability[]> = {
  vllm: ["lora_load", "lora_unload", "lora_list", "sleep", "wake"],
  sglang: ["lora_load", "lora_unload", "sleep", "wake"],
  llamacpp: [],
  tgi: [],
  trtllm: [],
  triton: [],
};

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "engine-contract-"));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const ctx = () => ({ signal: AbortSignal.timeout(5000) });

for (const kind of Object.keys(EXPECTED) as Array<keyof typeof EXPECTED & string>) {
  describe(`${kind} adapter against the ${kind} mock`, () => {
    let mock: Awaited<ReturnType<typeof startMockEngine>>;
    let engine: EngineAdapter;
    beforeAll(async () => {
      mock = await startMockEngine({ engine: kind as never, port: 0, model: "base-model" });
      engine = createEngineAdapter(kind as never, { baseUrl: mock.url, timeoutMs: 5000 });
    });
    afterAll(() => mock?.stop());

    test("capabilities are what the engine has", () => {
      expect(capabilities(engine)).toEqual(EXPECTED[kind]!);
      expect(engine.kind).toBe(kind as never);
      expect(engine.metricsPath).toBe(kind === "trtllm" ? "/prometheus/metrics" : "/metrics");
      if (kind !== "triton") expect(engine.rules.rules.length).toBeGreaterThan(0);
    });

    test("health turns healthy and the model list names the served model", async () => {
      await waitUntil(async () => (await engine.health(AbortSignal.timeout(2000))).healthy);
      const list = (await engine.listModels(ctx())) as { object: string; data: Array<{ id: string }> };
      expect(list.object).toBe("list");
      expect(list.data.length).toBeGreaterThan(0);
    });

    test("metrics are served on the adapter's metrics path", async () => {
      if (kind === "triton") return; // Triton serves metrics on its own port (8002)
      const r = await fetch(mock.url + engine.metricsPath);
      expect(r.status).toBe(200);
      expect(await r.text()).toContain("# TYPE");
    });

    if (EXPECTED[kind]!.includes("lora_load"))
      test("LoRA: load, load again (already loaded is success), list, unload, unload again (404)", async () => {
        const dir = await writeAdapterDir(join(tmp, `${kind}-a1`), "a1");
        expect(await engine.loadLora!({ name: "a1", path: dir }, ctx())).toMatchObject({ already: false });
        expect(await engine.loadLora!({ name: "a1", path: dir }, ctx())).toMatchObject({ already: true });
        expect((await mockStats(mock.url)).adapters.a1).toBe(dir);
        if (engine.listLoras) expect(await engine.listLoras(ctx())).toContain("a1");
        await engine.unloadLora!("a1", ctx());
        expect((await mockStats(mock.url)).adapters.a1).toBeUndefined();
        const err = await engine.unloadLora!("a1", ctx()).catch((e) => e);
        expect(err).toBeInstanceOf(AppError);
        expect(err.status).toBe(404);
        const missing = await engine.loadLora!({ name: "a2", path: join(tmp, "nope") }, ctx()).catch(
          (e) => e,
        );
        expect(missing).toBeInstanceOf(AppError);
        expect(missing.status).toBeGreaterThanOrEqual(400);
        expect(missing.status).toBeLessThan(500);
      });

    if (EXPECTED[kind]!.includes("sleep"))
      test("sleep then wake: the engine's own state follows", async () => {
        expect((await mockStats(mock.url)).sleepLevel).toBe(0);
        await engine.sleep!(1, ctx());
        expect((await mockStats(mock.url)).sleepLevel).toBe(1);
        await engine.wake!(ctx());
        expect((await mockStats(mock.url)).sleepLevel).toBe(0);
      });
  });
}

test("engine unreachable: unhealthy with a retry word, calls fail 503 with a retry word", async () => {
  const mock = await startMockEngine({ engine: "vllm", port: 0 });
  const url = mock.url;
  await mock.stop();
  for (const kind of ["vllm", "sglang"] as const) {
    const engine = createEngineAdapter(kind, { baseUrl: url, timeoutMs: 2000 });
    const h = await engine.health(AbortSignal.timeout(2000));
    expect(h.healthy).toBe(false);
    expect(h.reason).toMatch(/connection refused|service unavailable/);
    const err = await engine.loadLora!({ name: "x", path: "/tmp" }, ctx()).catch((e) => e);
    expect(err.status).toBe(503);
    expect(err.message).toMatch(/connection refused|service unavailable/);
  }
});

test("generic adapter: health and model list only", async () => {
  const mock = await startMockEngine({ engine: "vllm", port: 0 });
  try {
    const engine = createEngineAdapter("generic", { baseUrl: mock.url, timeoutMs: 2000 });
    expect(capabilities(engine)).toEqual([]);
    await waitUntil(async () => (await engine.health(AbortSignal.timeout(2000))).healthy);
  } finally {
    await mock.stop();
  }
});

test("vLLM started without its runtime LoRA / dev routes: 501 and 409 naming engine and capability", async () => {
  const mock = await startMockEngine({
    engine: "vllm",
    port: 0,
    env: { VLLM_ALLOW_RUNTIME_LORA_UPDATING: "False", VLLM_SERVER_DEV_MODE: "0" },
  });
  try {
    const engine = createEngineAdapter("vllm", { baseUrl: mock.url, timeoutMs: 2000 });
    const load = await engine.loadLora!({ name: "x", path: tmp }, ctx()).catch((e) => e);
    expect(load.status).toBe(501);
    expect(load.message).toContain("VLLM_ALLOW_RUNTIME_LORA_UPDATING");
    const unload = await engine.unloadLora!("x", ctx()).catch((e) => e);
    expect(unload.status).toBe(501);
    const sleep = await engine.sleep!(1, ctx()).catch((e) => e);
    expect(sleep.status).toBe(409);
    expect(sleep.message).toContain("VLLM_SERVER_DEV_MODE");
  } finally {
    await mock.stop();
  }
});
