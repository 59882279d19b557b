// `airuntime mock-engine` as a process (how the engine-lifecycle code and the demo run it): flags, the log line,
// the /_mock debug routes, and a clean stop on SIGTERM. Uses the compiled binary ($AIRUNTIME_BIN or dist/).
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mockOptionsFromArgs } from "../mock/index.ts";
import { BIN, type Proc, spawnProcess, waitUntil } from "./helpers/sidecar.ts";

async function startMockProcess(args: string[], env: Record<string, string> = {}): Promise<Proc> {
  const p = spawnProcess(BIN, ["mock-engine", "--port", "0", ...args], env);
  const line = await p.waitFor(/"msg":"mock engine listening"[^\n]*/);
  p.url = /"url":"([^"]+)"/.exec(line)![1]!;
  return p;
}

describe("flags", () => {
  test("parse into options, with each engine's default port", () => {
    const o = mockOptionsFromArgs(
      [
        "--engine",
        "sglang",
        "--startup-delay",
        "1.5",
        "--fault",
        "error-rate=0.3",
        "--fault",
        "reset",
        "--lora",
        "a=/x",
      ],
      {},
    );
    expect(o).toMatchObject({
      engine: "sglang",
      port: 30000,
      startupDelayMs: 1500,
      faults: { errorRate: 0.3, reset: true },
      loras: { a: "/x" },
    });
    expect(mockOptionsFromArgs(["--engine", "vllm"], { VLLM_API_KEY: "k" }).apiKey).toBe("k");
  });
  test("bad flags are clear errors", () => {
    expect(() => mockOptionsFromArgs(["--engine", "ollama"], {})).toThrow("--engine must be one of");
    expect(() => mockOptionsFromArgs([], {})).toThrow("--engine is required");
    expect(() => mockOptionsFromArgs(["--engine", "vllm", "--fault", "error-rate=2"], {})).toThrow(
      "--fault error-rate needs a fraction in [0, 1], got '2'",
    );
    expect(() => mockOptionsFromArgs(["--engine", "vllm", "--fault", "explode"], {})).toThrow(
      "unknown fault 'explode'",
    );
    expect(() => mockOptionsFromArgs(["--engine", "vllm", "--port", "x"], {})).toThrow(
      "--port expects a number",
    );
  });
});

describe.skipIf(!existsSync(BIN))(`binary ${BIN}`, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mock-cli-"));
    await writeFile(join(dir, "adapter_config.json"), "{}");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test("usage errors exit 2, --help exits 0", async () => {
    const bad = spawnProcess(BIN, ["mock-engine", "--engine", "nope"]);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain("--engine must be one of");
    const help = spawnProcess(BIN, ["mock-engine", "--help"]);
    expect(await help.exited).toBe(0);
    expect(help.output()).toContain("--startup-delay S");
  });

  test("vLLM process: silent during --startup-delay, LoRA calls counted on /_mock/stats, restart, SIGTERM", async () => {
    const p = await startMockProcess([
      "--engine",
      "vllm",
      "--startup-delay",
      "0.5",
      "--fault",
      "slow-metrics=50",
    ]);
    try {
      await expect(fetch(`${p.url}/health`)).rejects.toThrow();
      await waitUntil(async () => (await fetch(`${p.url}/health`)).status === 200, 5000);
      const load = await fetch(`${p.url}/v1/load_lora_adapter`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ lora_name: "demo", lora_path: dir }),
      });
      expect(load.status).toBe(200);
      const stats = (await (await fetch(`${p.url}/_mock/stats`)).json()) as Record<string, unknown>;
      expect(stats).toMatchObject({
        engine: "vllm",
        ready: true,
        counters: { demo: { load: 1, unload: 0 } },
        loaded: { demo: dir },
        faults: { slowMetricsMs: 50 },
      });
      expect((await fetch(`${p.url}/_mock/restart?down_ms=300`, { method: "POST" })).status).toBe(202);
      await waitUntil(
        async () => {
          try {
            await fetch(`${p.url}/health`);
            return false;
          } catch {
            return true;
          }
        },
        3000,
        5,
      );
      await waitUntil(async () => (await fetch(`${p.url}/health`)).status === 200, 5000);
      const after = (await (await fetch(`${p.url}/_mock/stats`)).json()) as Record<string, unknown>;
      expect(after).toMatchObject({ loaded: {}, counters: { demo: { load: 1, unload: 0 } } });
    } finally {
      expect(await p.stop()).toBe(0);
    }
  });

  test("Triton process: metrics on their own port (logged as metrics_url)", async () => {
    const p = await startMockProcess(["--engine", "triton", "--metrics-port", "0"]);
    try {
      const metricsUrl = /"metrics_url":"([^"]+)"/.exec(p.output())![1]!;
      expect(new URL(metricsUrl).port).not.toBe(new URL(p.url).port);
      expect(await (await fetch(metricsUrl)).text()).toContain("nv_inference_request_success");
    } finally {
      await p.stop();
    }
  });
});
