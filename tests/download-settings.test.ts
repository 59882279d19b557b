// Every download path runs with the download settings of the one Config (issue 13): with
// DOWNLOADER_PART_CHUNKSIZE=1MiB a weights file of 3 MiB + 5 bytes is fetched from the hub's CDN in ranged
// requests of at most 1 MiB that tile the file, whether it is a LoRA artifact (POST /v1/lora_adapter/load),
// a launched engine's weights (POST /v1/runtime/models/activate), a model download job (POST
// /v1/model/download) or `airuntime download`. With the default part size (16 MiB) it is one plain GET.
// LoRA and lifecycle downloads ran without the settings before (makeFetchToDir had no tuning, and the
// lifecycle's read the process environment instead of the Config): on c96e675 the LoRA case fails (one plain
// GET) and the lifecycle case never reaches this hub.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startMockEngine } from "../mock/index.ts";
import { type FakeHfHub, startFakeHfHub } from "./fakes/hf-hub.ts";
import { cleanup, type InProc, inProc, newDir } from "./helpers/inproc.ts";
import { adapterFiles } from "./helpers/lora.ts";
import { BIN, waitUntil } from "./helpers/sidecar.ts";

setDefaultTimeout(60_000);

const PART = 1024 * 1024;
const SIZE = 3 * PART + 5;
const WEIGHTS = "model.safetensors";
/** A repo per path, so each one's requests are counted on their own (the CDN serves by content hash, so
 *  each repo's weights differ in their first byte). */
const repos = ["lora", "weights", "api", "cli", "default"] as const;
type Repo = (typeof repos)[number];
const bodyOf = (r: Repo) =>
  new Uint8Array(SIZE).map((_, i) => (i === 0 ? repos.indexOf(r) : (i * 131 + (i >> 12)) & 0xff));
const SETTINGS = { DOWNLOADER_PART_CHUNKSIZE: "1MiB" };

let hub: FakeHfHub;
let engine: Awaited<ReturnType<typeof startMockEngine>>;
let side: InProc;

beforeAll(async () => {
  hub = await startFakeHfHub();
  const config = adapterFiles("ranged")["adapter_config.json"]!;
  for (const r of repos)
    await hub.addRepo(`org/${r}`, [
      { path: "adapter_config.json", body: config },
      { path: WEIGHTS, body: bodyOf(r), lfs: true },
    ]);
  engine = await startMockEngine({ engine: "vllm", port: 0 });
  side = await inProc({
    INFERENCE_ENGINE: "vllm",
    INFERENCE_ENGINE_ENDPOINT: engine.url,
    HF_ENDPOINT: hub.url,
    ...SETTINGS,
  });
});

afterAll(async () => {
  await side?.sidecar.stop();
  if (side) cleanup(side.dir, side.registry);
  await engine?.stop();
  await hub?.stop();
});

/** The weights were fetched in 1 MiB ranges covering the file, and arrived byte-exact at `path`. */
function expectOneMiBParts(repo: Repo, path: string): void {
  const stats = hub.stats(`org/${repo}`, WEIGHTS);
  expect(stats.ranges.filter(([s, e]) => e - s + 1 > PART)).toEqual([]);
  expect([...new Set(stats.ranges.map(([s]) => s))].sort((a, b) => a - b)).toEqual([
    0,
    PART,
    2 * PART,
    3 * PART,
  ]);
  expect(Math.max(...stats.ranges.map(([, e]) => e))).toBe(SIZE - 1);
  expect(Buffer.compare(readFileSync(path), bodyOf(repo))).toBe(0);
}

describe("DOWNLOADER_PART_CHUNKSIZE=1MiB reaches every download path", () => {
  test("LoRA artifact (POST /v1/lora_adapter/load)", async () => {
    const r = await side.request("POST", "/v1/lora_adapter/load", {
      lora_name: "ranged",
      artifact_url: "hf://org/lora",
    });
    expect(r.status).toBe(200);
    expectOneMiBParts("lora", join(side.dir, "adapters", "ranged", WEIGHTS));
  });

  test("a launched engine's weights (POST /v1/runtime/models/activate)", async () => {
    const r = await side.request("POST", "/v1/runtime/models/activate", {
      model_name: "w1",
      artifact_url: "hf://org/weights",
      engine: "vllm",
    });
    expect(r.status).toBe(200);
    const path = join(side.dir, "models", "w1", WEIGHTS);
    await waitUntil(() => existsSync(path), 30_000);
    expectOneMiBParts("weights", path);
  });

  test("a model download job (POST /v1/model/download)", async () => {
    const r = await side.request("POST", "/v1/model/download", {
      model_uri: "hf://org/api",
      model_name: "api",
    });
    expect(r.status).toBe(200);
    await waitUntil(
      async () =>
        (await side.request("GET", "/v1/model/status?model_name=api")).json?.model_status === "downloaded",
      30_000,
    );
    expectOneMiBParts("api", join(side.dir, "models", "api", WEIGHTS));
  });

  test("`airuntime download` (the binary)", async () => {
    const dir = newDir("ranged-cli-");
    const run = (env: Record<string, string>) =>
      new Promise<string>((resolve, reject) =>
        execFile(
          BIN,
          ["download", `hf://org/${env.REPO}`, "--local-dir", dir, "--model-name", env.REPO!],
          { env: { PATH: process.env.PATH, HF_ENDPOINT: hub.url, ...env } },
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
        ),
      );
    try {
      expect((await run({ REPO: "cli", ...SETTINGS })).trim()).toBe(join(dir, "cli"));
      expectOneMiBParts("cli", join(dir, "cli", WEIGHTS));
      // The control: without the setting the file is one plain GET (the default part is 16 MiB).
      await run({ REPO: "default" });
      const control = hub.stats("org/default", WEIGHTS);
      expect({ ranged: control.ranged, bytes: control.bytes }).toEqual({ ranged: 0, bytes: SIZE });
    } finally {
      cleanup(dir, "/nonexistent");
    }
  });
});
