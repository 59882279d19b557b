// bench/lora: what the sidecar adds to a LoRA load. Against the vLLM mock, measured interleaved in one run:
//   direct     POST /v1/load_lora_adapter + /v1/unload_lora_adapter on the engine itself (the floor)
//   sidecar    POST /v1/lora_adapter/load (delegation, absolute local path) + /unload through the binary
//   burst-20   20 concurrent loads of one adapter through the sidecar (one engine call), then one unload
// Usage: bun run scripts/build.ts /tmp/x/airuntime && AIRUNTIME_BIN=/tmp/x/airuntime bun bench/lora.ts [rounds=200]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMockEngine } from "../mock/index.ts";
import { writeAdapterDir } from "../tests/helpers/lora.ts";
import { startSidecar } from "../tests/helpers/sidecar.ts";

const rounds = Number(process.argv[2] ?? 200);
const tmp = await mkdtemp(join(tmpdir(), "bench-lora-"));
const adapter = await writeAdapterDir(join(tmp, "a"), "a");
const mock = await startMockEngine({ engine: "vllm", port: 0, load: 0 });
const side = await startSidecar({
  INFERENCE_ENGINE: "vllm",
  INFERENCE_ENGINE_ENDPOINT: mock.url,
  AIRUNTIME_ADAPTERS_DIR: join(tmp, "adapters"),
  AIRUNTIME_STATE_DIR: join(tmp, "state"),
});

const post = async (url: string, body: unknown) => {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
};

const cases: Record<string, () => Promise<void>> = {
  direct: async () => {
    await post(`${mock.url}/v1/load_lora_adapter`, { lora_name: "d", lora_path: adapter });
    await post(`${mock.url}/v1/unload_lora_adapter`, { lora_name: "d" });
  },
  sidecar: async () => {
    await post(`${side.url}/v1/lora_adapter/load`, { lora_name: "s", artifact_url: adapter });
    await post(`${side.url}/v1/lora_adapter/unload`, { lora_name: "s", cleanup_local: true });
  },
  "burst-20": async () => {
    await Promise.all(
      Array.from({ length: 20 }, () =>
        post(`${side.url}/v1/lora_adapter/load`, { lora_name: "b", artifact_url: adapter }),
      ),
    );
    await post(`${side.url}/v1/lora_adapter/unload`, { lora_name: "b", cleanup_local: true });
  },
};

const ms: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < rounds + 10; i++)
  for (const [name, run] of Object.entries(cases)) {
    const t0 = performance.now();
    await run();
    if (i >= 10) ms[name]!.push(performance.now() - t0); // first 10 rounds warm up
  }

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const p50 = (k: string) => pct(ms[k]!, 50);
for (const k of Object.keys(cases))
  console.log(`${k.padEnd(9)} load+unload p50 ${p50(k).toFixed(2)} ms  p95 ${pct(ms[k]!, 95).toFixed(2)} ms`);
console.log(`sidecar / direct   p50 ratio ${(p50("sidecar") / p50("direct")).toFixed(2)}x`);
console.log(`burst-20 / sidecar p50 ratio ${(p50("burst-20") / p50("sidecar")).toFixed(2)}x`);
const c = mock.counters();
console.log(`engine load calls: burst adapter ${c.b?.load} for ${rounds + 10} bursts of 20 requests`);

await side.stop();
await mock.stop();
await rm(tmp, { recursive: true, force: true });
