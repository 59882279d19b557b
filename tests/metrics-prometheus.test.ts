// A real Prometheus (Debian's package) scrapes the sidecar every second; its HTTP API then returns
// aibrix:queue_size for the mock engine's model. Prometheus negotiates OpenMetrics and gzip, so this also
// checks those renderings against the reference parser.
import { afterAll, expect } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMockEngine } from "../mock/index.ts";
import { freePort } from "./helpers/ports.ts";
import { type Proc, spawnProcess, startSidecar, waitUntil } from "./helpers/sidecar.ts";
import { tool } from "./helpers/tools.ts";

const prometheus = tool("prometheus");
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

prometheus.test(
  "Prometheus scrapes the sidecar and answers a query for aibrix:queue_size",
  async () => {
    const model = "prom-test-model";
    const mock = await startMockEngine({ engine: "vllm", port: 0, model, seed: 11 });
    cleanup.push(() => mock.stop());
    const sidecar: Proc = await startSidecar({
      INFERENCE_ENGINE: "vllm",
      INFERENCE_ENGINE_ENDPOINT: mock.url,
      AIRUNTIME_METRICS_INTERVAL: "0.2",
    });
    cleanup.push(() => sidecar.stop("SIGKILL"));

    const dir = mkdtempSync(join(tmpdir(), "airuntime-prom-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const target = new URL(sidecar.url).host;
    writeFileSync(
      join(dir, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "scrape_configs:",
        "  - job_name: airuntime",
        "    metrics_path: /metrics",
        "    static_configs:",
        `      - targets: ["${target}"]`,
        "",
      ].join("\n"),
    );
    const port = await freePort();
    const prom = spawnProcess(prometheus.path!, [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ]);
    cleanup.push(() => prom.stop());
    const api = `http://127.0.0.1:${port}/api/v1`;
    const query = async (q: string) => {
      const r = await fetch(`${api}/query?query=${encodeURIComponent(q)}`);
      const j = (await r.json()) as {
        data?: { result?: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      return j.data?.result ?? [];
    };

    const result = await waitUntil(
      async () => {
        const r = await query("aibrix:queue_size");
        return r.length > 0 && r;
      },
      20_000,
      200,
    );
    expect(result).toContainEqual(
      expect.objectContaining({
        metric: expect.objectContaining({ __name__: "aibrix:queue_size", model_name: model }),
      }),
    );
    // The scrape itself was healthy (no parse error, no sample rejected).
    const up = await query('up{job="airuntime"}');
    expect(up[0]?.value[1]).toBe("1");
    const targets = (await (await fetch(`${api}/targets`)).json()) as {
      data: { activeTargets: Array<{ health: string; lastError: string }> };
    };
    expect(targets.data.activeTargets[0]).toMatchObject({ health: "up", lastError: "" });
    const counters = await query("aibrix:prompt_tokens_total");
    expect(counters.length).toBeGreaterThan(0);
  },
  40_000,
);
