// With the engine hung (accepts the connection, never answers), /metrics (the sidecar in process,
// app.request) keeps answering: engine families
// drop out after the staleness bound and aibrix:engine_up turns 0; own metrics keep flowing. (The bound itself,
// to the millisecond, is checked with an injected clock in metrics/poller.test.ts; no wall-clock bounds here.)
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { startMockEngine } from "../mock/index.ts";
import { checkMetrics, promtool } from "./helpers/promtool.ts";
import { type InProcessSidecar, startInProcess } from "./helpers/inproc.ts";
import { waitUntil } from "./helpers/sidecar.ts";

const VLLM = readFileSync(new URL("../metrics/fixtures/vllm.prom", import.meta.url), "utf8");
let sidecar: InProcessSidecar | undefined;
let engine: Server | undefined;
afterAll(async () => {
  await sidecar?.stop();
  engine?.closeAllConnections();
  engine?.close();
});

test("hung engine: /metrics keeps answering, with aibrix:engine_up 0 once the data is stale", async () => {
  let hung = false;
  engine = createServer((req, res) => {
    if (hung) return; // never answer
    if (req.url === "/metrics") res.end(VLLM);
    else res.end("{}");
  });
  await new Promise<void>((r) => engine!.listen(0, "127.0.0.1", r));
  const port = (engine.address() as { port: number }).port;
  sidecar = await startInProcess({
    INFERENCE_ENGINE: "vllm",
    INFERENCE_ENGINE_ENDPOINT: `http://127.0.0.1:${port}`,
    AIRUNTIME_METRICS_INTERVAL: "0.1",
    AIRUNTIME_METRICS_STALE_AFTER: "0.5",
  });
  const scrape = async () => {
    const r = await sidecar!.app.request("/metrics");
    return { status: r.status, text: await r.text() };
  };
  await waitUntil(async () =>
    (await scrape()).text.includes('aibrix:queue_size{engine="0",model_name="llama"} 5'),
  );
  expect((await scrape()).text).toContain("\naibrix:engine_up 1\n");

  hung = true;
  // Every scrape from here on is answered while the engine answers nothing: /metrics never waits on it.
  const statuses: number[] = [];
  const down = await waitUntil(async () => {
    const s = await scrape();
    statuses.push(s.status);
    return s.text.includes("\naibrix:engine_up 0\n") ? s : undefined;
  }, 10_000).then((d) => d!);
  expect(down.status).toBe(200);
  expect(down.text).not.toContain("vllm:");
  expect(down.text).not.toContain("aibrix:queue_size");
  expect(down.text).toContain("aibrix:api_request_total{");
  for (let i = 0; i < 20; i++) statuses.push((await scrape()).status);
  expect(new Set(statuses)).toEqual(new Set([200]));
  const timeouts = /aibrix:engine_scrape_errors_total\{reason="timeout"\} (\d+)/;
  await waitUntil(async () => timeouts.test((await scrape()).text), 5000);
}, 20_000);

let malformedText: string | undefined;

test("malformed engine text: bad lines are dropped and counted", async () => {
  const mock = await startMockEngine({ engine: "vllm", port: 0, tickMs: 1e9, model: "broken", seed: 9 });
  await mock.whenReady();
  mock.setFault({ malformedMetrics: true });
  const s = await startInProcess({
    INFERENCE_ENGINE: "vllm",
    INFERENCE_ENGINE_ENDPOINT: mock.url,
    AIRUNTIME_METRICS_INTERVAL: "0.05",
  });
  try {
    const text = await waitUntil(async () => {
      const t = await (await s.app.request("/metrics")).text();
      return /aibrix:engine_scrape_errors_total\{reason="malformed_lines"\} [1-9]/.test(t) && t;
    });
    expect(text).not.toContain("mock_broken");
    expect(text).not.toContain("this is not");
    malformedText = text as string;
  } finally {
    await s.stop();
    await mock.stop();
  }
}, 20_000);

promtool.test("malformed engine text: what the sidecar serves stays valid for promtool", () => {
  if (!malformedText) throw new Error("the malformed-text test above did not scrape the sidecar");
  const { findings } = checkMetrics(malformedText);
  expect(
    findings
      .filter((l) => !l.endsWith("should not contain ':'"))
      // vLLM's own histogram named *_total is passed through unchanged (a lint on the engine's name).
      .filter((l) => !l.startsWith("vllm:iteration_tokens_total ")),
  ).toEqual([]);
});
