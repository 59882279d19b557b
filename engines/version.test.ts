// The engine's version for aibrix:info_info, from the mock engines' own endpoints (vLLM and trtllm-serve
// /version, SGLang /get_server_info, TGI /info); engines that cannot tell give null.
import { afterAll, expect, test } from "bun:test";
import { type MockEngine, startMockEngine } from "../mock/index.ts";
import { SGLANG_VERSION } from "../mock/personalities/sglang.ts";
import { TGI_VERSION } from "../mock/personalities/tgi.ts";
import { TRTLLM_VERSION } from "../mock/personalities/trtllm.ts";
import { VLLM_VERSION } from "../mock/personalities/vllm.ts";
import { fetchEngineVersion, reportsVersion } from "./version.ts";

const started: MockEngine[] = [];
afterAll(async () => {
  for (const m of started) await m.stop();
});

const cases = [
  ["vllm", VLLM_VERSION],
  ["sglang", SGLANG_VERSION],
  ["tgi", TGI_VERSION],
  ["trtllm", TRTLLM_VERSION],
] as const;

for (const [engine, version] of cases)
  test(`${engine}: the version the engine reports`, async () => {
    const m = await startMockEngine({ engine, port: 0, metricsPort: 0 });
    started.push(m);
    expect(await fetchEngineVersion(engine, m.url, AbortSignal.timeout(5000))).toBe(version);
  });

test("llama.cpp cannot tell (null without a call); an unreachable engine throws (the caller retries)", async () => {
  expect(reportsVersion("llamacpp")).toBe(false);
  expect(await fetchEngineVersion("llamacpp", "http://127.0.0.1:9", AbortSignal.timeout(1000))).toBeNull();
  await expect(fetchEngineVersion("vllm", "http://127.0.0.1:9", AbortSignal.timeout(1000))).rejects.toThrow();
});
