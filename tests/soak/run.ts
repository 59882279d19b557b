// Soak under faults: the mock engine flaps (restarts, 5xx bursts, hung metrics, resets) while a client
// scrapes /metrics at a fixed rate, loads and unloads adapters, and a model download runs. Bounded in time
// and count, loopback only. Returns the figures; tests/soak/soak.test.ts asserts on them.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MockEngine, startMockEngine } from "../../mock/index.ts";
import { startFakeS3 } from "../fakes/s3.ts";
import { writeAdapterDir } from "../helpers/lora.ts";
import { startSidecar, waitUntil } from "../helpers/sidecar.ts";

export interface SoakOptions {
  seconds: number;
  scrapesPerSecond: number;
  downloadBytes: number;
}

export interface SoakFigures {
  seconds: number;
  requests: number;
  answered: number;
  unanswered: number;
  scrapes: number;
  scrapeNon200: number;
  scrapeP50Ms: number;
  scrapeP99Ms: number;
  scrapeMaxMs: number;
  loraCalls: number;
  loraStatuses: Record<string, number>;
  faultsInjected: number;
  rssWarmMiB: number;
  rssEndMiB: number;
  rssDriftPct: number;
  adaptersEndLoaded: boolean;
  downloadExact: boolean;
  sidecarAlive: boolean;
  unhandled: boolean;
}

const DEADLINE_MS = 5000; // AIRUNTIME_REQUEST_TIMEOUT below; every request must be answered within it (+slack)

/** RSS after a forced full GC in the sidecar (SIGUSR2), so warm-up and end readings compare like with like. */
async function settledRssMiB(pid: number): Promise<number> {
  process.kill(pid, "SIGUSR2");
  await new Promise((r) => setTimeout(r, 400));
  return rssMiB(pid);
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) / 1024;
}

const pct = (xs: number[], p: number) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]! : 0;

export async function runSoak(o: SoakOptions): Promise<SoakFigures> {
  const root = await mkdtemp(join(tmpdir(), "airuntime-soak-"));
  const engine: MockEngine = await startMockEngine({ engine: "vllm", port: 0, seed: 7 });
  const s3 = startFakeS3({ credentials: [{ accessKeyId: "AK", secretAccessKey: "SK" }] });
  const payload = new Uint8Array(o.downloadBytes);
  for (let i = 0; i < payload.length; i += 4096) payload[i] = (i / 4096) & 0xff;
  await s3.put("models", "soak/model.safetensors", payload);
  await s3.put("models", "soak/config.json", new TextEncoder().encode('{"arch":"soak"}'));
  const adapters = ["soak-a", "soak-b", "soak-c"];
  const paths: Record<string, string> = {};
  for (const a of adapters) paths[a] = await writeAdapterDir(join(root, "src", a), a);

  const sidecar = await startSidecar({
    INFERENCE_ENGINE: "vllm",
    INFERENCE_ENGINE_ENDPOINT: engine.url,
    AIRUNTIME_STATE_DIR: join(root, "state"),
    AIRUNTIME_ADAPTERS_DIR: join(root, "adapters"),
    DOWNLOADER_LOCAL_DIR: join(root, "models"),
    AWS_ENDPOINT_URL: s3.url,
    AWS_ACCESS_KEY_ID: "AK",
    AWS_SECRET_ACCESS_KEY: "SK",
    AIRUNTIME_METRICS_INTERVAL: "0.2",
    AIRUNTIME_METRICS_STALE_AFTER: "1",
    AIRUNTIME_ENGINE_TIMEOUT: "2",
    AIRUNTIME_REQUEST_TIMEOUT: String(DEADLINE_MS / 1000),
    AIRUNTIME_READY_INTERVAL: "0.2",
    LOG_LEVEL: "info",
  });
  const pid = sidecar.proc.pid!;
  let requests = 0;
  let answered = 0;
  const scrapeMs: number[] = [];
  let scrapeNon200 = 0;
  const loraStatuses: Record<string, number> = {};
  let loraCalls = 0;

  const timed = async (path: string, init?: RequestInit): Promise<Response | null> => {
    requests++;
    try {
      const r = await fetch(sidecar.url + path, { ...init, signal: AbortSignal.timeout(DEADLINE_MS + 1000) });
      await r.arrayBuffer();
      answered++;
      return r;
    } catch {
      return null;
    }
  };
  const post = (path: string, body: unknown) =>
    timed(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  let stop = false;
  const scraper = async (untilMs: number) => {
    const interval = 1000 / o.scrapesPerSecond;
    const inflight: Promise<void>[] = [];
    const t0 = performance.now();
    for (let i = 0; performance.now() - t0 < untilMs; i++) {
      const due = t0 + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inflight.push(
        (async () => {
          const s = performance.now();
          const r = await timed("/metrics");
          scrapeMs.push(performance.now() - s);
          if (r?.status !== 200) scrapeNon200++;
        })(),
      );
    }
    await Promise.all(inflight);
  };
  const loraLoop = async () => {
    for (let i = 0; !stop; i++) {
      const name = adapters[i % adapters.length]!;
      const unload = i % adapters.length === 2 && i % 2 === 0;
      const r = unload
        ? await post("/v1/lora_adapter/unload", { lora_name: name, cleanup_local: false })
        : await post("/v1/lora_adapter/load", { lora_name: name, lora_path: paths[name] });
      loraCalls++;
      const key = r ? String(r.status) : "no-answer";
      loraStatuses[key] = (loraStatuses[key] ?? 0) + 1;
      await new Promise((r2) => setTimeout(r2, 20));
    }
  };

  // The engine flaps through each fault in turn until `done()`; resolves with the number injected.
  const runChaos = async (done: () => boolean, maxFaults = Number.POSITIVE_INFINITY): Promise<number> => {
    const actions: Array<() => Promise<void>> = [
      async () => engine.restart(300),
      async () => {
        engine.setFault({ errorRate: 0.5 });
        await new Promise((r) => setTimeout(r, 800));
        engine.setFault({ errorRate: 0 });
      },
      async () => {
        engine.setFault({ hangMetrics: true });
        await new Promise((r) => setTimeout(r, 1500));
        engine.setFault({ hangMetrics: false });
      },
      async () => {
        engine.setFault({ reset: true });
        await new Promise((r) => setTimeout(r, 400));
        engine.setFault({ reset: false });
      },
    ];
    let n = 0;
    while (!done() && n < maxFaults) {
      await actions[n % actions.length]!();
      n++;
      await new Promise((r) => setTimeout(r, 700));
    }
    return n;
  };

  // Warm-up: every code path once, including a small download, then RSS.
  await post("/v1/model/download", {
    model_uri: "s3://models/soak/",
    model_name: "warm",
    download_extra_config: {},
  });
  // Warm-up goes through every fault once too, so the baseline has seen the same code paths and series.
  stop = false;
  let warmChaosDone = false;
  const warmLora = loraLoop();
  const warmChaos = runChaos(() => false, 4).then(() => {
    warmChaosDone = true;
  });
  while (!warmChaosDone) await scraper(1000);
  stop = true;
  await Promise.all([warmLora, warmChaos]);
  engine.setFault(null);
  await waitUntil(async () => (await timed("/v1/model/status?model_name=warm"))?.status === 200, 10_000);
  const rssWarm = await settledRssMiB(pid);

  // Soak.
  s3.throttle.bytesPerSec = Math.max(1, Math.floor(o.downloadBytes / Math.max(1, o.seconds * 0.6)));
  const dl = await post("/v1/model/download", { model_uri: "s3://models/soak/", model_name: "soaked" });
  if (dl?.status !== 200) throw new Error(`download did not start: ${dl?.status}`);
  stop = false;
  const lora = loraLoop();
  const chaos = runChaos(() => stop);
  await scraper(o.seconds * 1000);
  stop = true;
  const [, faultsInjected] = await Promise.all([lora, chaos]);
  engine.setFault(null);
  s3.throttle.bytesPerSec = 0;

  // End state: adapters loaded again (self-healing after the last restart), download byte-exact.
  for (const a of adapters.slice(0, 2))
    await post("/v1/lora_adapter/load", { lora_name: a, lora_path: paths[a] });
  const adaptersEndLoaded = await waitUntil(
    () => adapters.slice(0, 2).every((a) => engine.loaded()[a] !== undefined),
    15_000,
  ).then(
    () => true,
    () => false,
  );
  const downloaded = await waitUntil(async () => {
    const r = await fetch(`${sidecar.url}/v1/model/status?model_name=soaked`);
    const j = (await r.json()) as { model_status: string };
    return j.model_status === "downloaded" || j.model_status === "failed" ? j.model_status : null;
  }, 60_000).catch(() => "timeout");
  const file = join(root, "models", "soaked", "model.safetensors");
  let downloadExact = false;
  try {
    downloadExact =
      downloaded === "downloaded" &&
      createHash("sha256").update(readFileSync(file)).digest("hex") ===
        createHash("sha256").update(payload).digest("hex");
  } catch {}
  const rssEnd = await settledRssMiB(pid);
  const sidecarAlive = sidecar.proc.exitCode === null && sidecar.proc.signalCode === null;
  const unhandled = /unhandled|uncaught/i.test(sidecar.output());
  await sidecar.stop("SIGKILL");
  await engine.stop();
  await s3.stop();
  return {
    seconds: o.seconds,
    requests,
    answered,
    unanswered: requests - answered,
    scrapes: scrapeMs.length,
    scrapeNon200,
    scrapeP50Ms: Number(pct(scrapeMs, 50).toFixed(2)),
    scrapeP99Ms: Number(pct(scrapeMs, 99).toFixed(2)),
    scrapeMaxMs: Number(Math.max(0, ...scrapeMs).toFixed(2)),
    loraCalls,
    loraStatuses,
    faultsInjected,
    rssWarmMiB: Number(rssWarm.toFixed(1)),
    rssEndMiB: Number(rssEnd.toFixed(1)),
    rssDriftPct: Number((((rssEnd - rssWarm) / rssWarm) * 100).toFixed(1)),
    adaptersEndLoaded,
    downloadExact,
    sidecarAlive,
    unhandled,
  };
}

if (import.meta.main) {
  const seconds = Number(process.env.AIRUNTIME_SOAK_SECONDS ?? 60);
  const figures = await runSoak({ seconds, scrapesPerSecond: 200, downloadBytes: 64 * 1024 * 1024 });
  console.log(JSON.stringify(figures, null, 2));
}
