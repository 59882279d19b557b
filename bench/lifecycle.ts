// bench/lifecycle: ModelClaim engine lifecycle on mock engines, with baselines measured in the same run.
//  1. cold start: POST activate -> GET /v1/runtime/models says ready, against the floor of spawning the
//     same mock engine directly and polling its /health;
//  2. GET /v1/runtime/models latency while an activation's download is held open, against the same call
//     when nothing downloads (AIBrix blocks it behind the download lock, B18);
//  3. crash recovery: kill -9 of an engine -> ready again (restart backoff set to 50 ms).
// Supervision runs at its default interval (1 s; booting engines are probed every 50 ms).
// Usage: bun run scripts/build.ts /tmp/x/airuntime && AIRUNTIME_BIN=/tmp/x/airuntime bun bench/lifecycle.ts [runs=10]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../tests/helpers/ports.ts";
import { BIN, startSidecar } from "../tests/helpers/sidecar.ts";

const runs = Number(process.argv[2] ?? 10);
const dir = await mkdtemp(join(tmpdir(), "bench-life-"));
const registry = join(dir, "engines.json");
const base = 30000 + Math.floor(Math.random() * 300) * 100;
const sc = await startSidecar({
  AIBRIX_MODEL_RUNTIME_MOCK: "1",
  AIBRIX_ENGINE_REGISTRY_PATH: registry,
  AIRUNTIME_STATE_DIR: join(dir, "state"),
  DOWNLOADER_LOCAL_DIR: join(dir, "models"),
  AIBRIX_WEIGHT_CACHE_DIR: join(dir, "cache"),
  AIRUNTIME_ENGINE_PORT_RANGE: `${base}-${base + 100}`,
  AIRUNTIME_ENGINE_RESTART_BACKOFF: "0.05",
  AIRUNTIME_ENGINE_MAX_RESTARTS: "1000",
});

const post = (path: string, body: unknown) =>
  fetch(sc.url + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }).then((r) => r.json() as Promise<Record<string, unknown>>);
const list = async () =>
  ((await (await fetch(`${sc.url}/v1/runtime/models`)).json()) as { models: Array<Record<string, unknown>> })
    .models;
async function until(fn: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
  const end = performance.now() + timeoutMs;
  while (!(await fn())) {
    if (performance.now() > end) {
      const msg = `timed out: ${what}; models: ${JSON.stringify(await list())}\n${sc.output().slice(-1500)}`;
      await cleanup();
      throw new Error(msg);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
/** Engines outlive the sidecar by design: a failed run kills what the registry lists. */
async function cleanup() {
  let engines: { pid: number | null }[] = [];
  try {
    engines = JSON.parse(readFileSync(registry, "utf8")).engines;
  } catch {
    // nothing was registered
  }
  for (const { pid } of engines)
    if (pid)
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
  await sc.stop("SIGKILL");
}
const ready = (name: string) => async () =>
  (await list()).some((m) => m.model_name === name && m.ready === true);
const pidOf = (name: string): number =>
  JSON.parse(readFileSync(registry, "utf8")).engines.find(
    (e: { model_name: string }) => e.model_name === name,
  )?.pid;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function direct(): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(BIN, ["mock-engine", "--engine", "vllm", "--port", String(port), "--model", "d"], {
    stdio: "ignore",
  });
  await until(async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/health`)).ok;
    } catch {
      return false;
    }
  }, "direct mock engine /health");
  const ms = performance.now() - t0;
  child.kill("SIGKILL");
  return ms;
}

async function viaSidecar(i: number): Promise<number> {
  const name = `m${i}`;
  const t0 = performance.now();
  await post("/v1/runtime/models/activate", { model_name: name, artifact_url: `/models/${name}` });
  await until(ready(name), `${name} ready`);
  const ms = performance.now() - t0;
  await post("/v1/runtime/models/deactivate", { model_name: name });
  return ms;
}

// 1. cold start, interleaved
const cold = { direct: [] as number[], sidecar: [] as number[] };
for (let i = 0; i < runs; i++) {
  cold.direct.push(await direct());
  cold.sidecar.push(await viaSidecar(i));
}

// 2. list latency, idle vs during a held download
async function listTimes(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await list();
    out.push(performance.now() - t);
  }
  return out;
}
const idle = await listTimes(runs * 20);
const held = createServer((_req, res) => {
  res.writeHead(200, { "content-length": "1000000" });
  const t = setInterval(() => res.write("x"), 50);
  res.on("close", () => clearInterval(t));
});
await new Promise<void>((r) => held.listen(0, "127.0.0.1", () => r()));
await post("/v1/runtime/models/activate", {
  model_name: "downloading",
  artifact_url: `http://127.0.0.1:${(held.address() as { port: number }).port}/w/model.bin`,
});
await new Promise((r) => setTimeout(r, 300)); // let the transfer start
const during = await listTimes(runs * 20);
const stillBooting = (await list()).find((m) => m.model_name === "downloading")?.phase === "booting";
await post("/v1/runtime/models/deactivate", { model_name: "downloading" });
held.close();

// 3. crash recovery (a fresh engine each run: the backoff doubles with every restart of one engine)
const recovery: number[] = [];
for (let i = 0; i < runs; i++) {
  const name = `crashy${i}`;
  await post("/v1/runtime/models/activate", { model_name: name, artifact_url: `/models/${name}` });
  await until(ready(name), `${name} ready`);
  const pid = pidOf(name);
  const t0 = performance.now();
  process.kill(pid, "SIGKILL");
  await until(async () => pidOf(name) !== pid && (await ready(name)()), `${name} restarted`);
  recovery.push(performance.now() - t0);
  await post("/v1/runtime/models/deactivate", { model_name: name });
}
await sc.stop();
await rm(dir, { recursive: true, force: true });

const f = (x: number) => `${x.toFixed(1)} ms`;
console.log(`runs=${runs}`);
console.log(
  `cold start  direct mock engine p50 ${f(pct(cold.direct, 0.5))} p95 ${f(pct(cold.direct, 0.95))} | via activate p50 ${f(pct(cold.sidecar, 0.5))} p95 ${f(pct(cold.sidecar, 0.95))} | ratio p50 ${(pct(cold.sidecar, 0.5) / pct(cold.direct, 0.5)).toFixed(2)}x`,
);
console.log(
  `GET /v1/runtime/models  idle p50 ${f(pct(idle, 0.5))} max ${f(Math.max(...idle))} | during download p50 ${f(pct(during, 0.5))} max ${f(Math.max(...during))} (download still running: ${stillBooting}) | ratio p50 ${(pct(during, 0.5) / pct(idle, 0.5)).toFixed(2)}x`,
);
console.log(
  `crash recovery (kill -9 -> ready, backoff 50 ms)  p50 ${f(pct(recovery, 0.5))} p95 ${f(pct(recovery, 0.95))}`,
);
