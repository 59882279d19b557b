// Issue 18, logs for operators: at LOG_LEVEL=debug an access log line per request (method, route template,
// status, ms) and a trace per outbound call (engine, hub/S3/sources: method, host, status, ms); download
// progress off a terminal every 10 s or 5 %. Against the compiled binary and the mock engine.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { startMockEngine } from "../mock/index.ts";
import { createProgressUi } from "../storage/cli-progress.ts";
import { progressGate } from "../storage/progress.ts";
import type { DownloadProgress } from "../storage/types.ts";
import { type FakeHfHub, startFakeHfHub } from "./fakes/hf-hub.ts";
import { BIN, startSidecar, waitUntil } from "./helpers/sidecar.ts";
import { MiB, randomPayload, removeTempDirs, tempDir } from "./storage/helpers.ts";

let hub: FakeHfHub;
beforeAll(async () => {
  hub = await startFakeHfHub();
  await hub.addRepo("org/logs", [{ path: "model.bin", body: randomPayload(2 * MiB) }]);
});
afterAll(async () => {
  await hub.stop();
  await removeTempDirs();
});

test("LOG_LEVEL=debug: access log with the route template, and the engine call traced", async () => {
  const mock = await startMockEngine({ engine: "vllm", port: 0 });
  const side = await startSidecar({ INFERENCE_ENGINE_ENDPOINT: mock.url, LOG_LEVEL: "debug" });
  try {
    expect((await fetch(`${side.url}/v1/models`)).status).toBe(200);
    await fetch(`${side.url}/v1/model/status?model_name=secret-name-x`);
    await waitUntil(() => side.logs().some((l) => l.msg === "request" && l.route === "/v1/model/status"));
    const access = side.logs().find((l) => l.msg === "request" && l.route === "/v1/models")!;
    expect(access).toMatchObject({ level: "debug", method: "GET", status: 200 });
    expect(typeof access.ms).toBe("number");
    // The template, never the query (names, tokens).
    expect(JSON.stringify(side.logs().filter((l) => l.msg === "request"))).not.toContain("secret-name-x");
    const host = new URL(mock.url).host;
    const call = side.logs().find((l) => l.msg === "outbound call" && l.peer === "engine" && l.host === host);
    expect(call).toMatchObject({ method: "GET", status: 200 });
    expect(typeof call!.ms).toBe("number");
  } finally {
    await side.stop();
    await mock.stop();
  }
});

test("at info level neither access log nor traces", async () => {
  const mock = await startMockEngine({ engine: "vllm", port: 0 });
  const side = await startSidecar({ INFERENCE_ENGINE_ENDPOINT: mock.url });
  try {
    await fetch(`${side.url}/v1/models`);
    expect(side.logs().some((l) => l.msg === "request" || l.msg === "outbound call")).toBe(false);
  } finally {
    await side.stop();
    await mock.stop();
  }
});

test("the download CLI at debug traces its hub calls (host, status, retries), never the token", async () => {
  const local = await tempDir("trace");
  hub.fault("org/logs", "model.bin", { status: { code: 503, times: 1 } }); // one retry
  const out = await new Promise<string>((resolve) => {
    const p = spawn(BIN, ["download", "hf://org/logs", "--local-dir", local], {
      env: {
        PATH: process.env.PATH ?? "",
        HF_ENDPOINT: hub.url,
        LOG_LEVEL: "debug",
        HF_TOKEN: "hf_tracetoken",
      },
    });
    let err = "";
    p.stderr.on("data", (d) => (err += d));
    p.on("close", () => resolve(err));
  });
  const lines = out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const hubHost = new URL(hub.url).host;
  const calls = lines.filter((l) => l.msg === "outbound call" && l.peer === "download");
  expect(calls.some((l) => l.host === hubHost && l.status === 200 && l.method === "GET")).toBe(true);
  expect(calls.some((l) => l.status === 503 && l.retries === 0)).toBe(true);
  expect(calls.some((l) => l.retries === 1 && (l.status === 200 || l.status === 206))).toBe(true);
  expect(out).not.toContain("hf_tracetoken");
});

const tick = (done: number, phase: DownloadProgress["phase"] = "downloading"): DownloadProgress => ({
  phase,
  files_done: 0,
  files_total: 1,
  bytes_done: done,
  bytes_total: 1000,
  rate: 1,
  eta: null,
});

test("progress off a terminal: every 5 % or every 10 s, and at each phase change", () => {
  let t = 0;
  const gate = progressGate(10_000, 0.05, () => t);
  expect(gate(tick(0))).toBe(true);
  expect(gate(tick(10))).toBe(false); // 1 %, 0 s
  expect(gate(tick(49))).toBe(false);
  expect(gate(tick(50))).toBe(true); // 5 %
  t = 9_999;
  expect(gate(tick(60))).toBe(false);
  t = 10_000;
  expect(gate(tick(61))).toBe(true); // 10 s
  expect(gate(tick(61, "publishing"))).toBe(true);

  const out: string[] = [];
  const ui = createProgressUi({ tty: false, quiet: false, write: (s) => out.push(s), now: () => t });
  for (let i = 0; i <= 1000; i += 10) ui.progress(tick(i));
  expect(out.length).toBe(21); // 0, 5 %, ..., 100 %
  for (const l of out) expect(JSON.parse(l)).toMatchObject({ level: "info", msg: "progress" });
});
