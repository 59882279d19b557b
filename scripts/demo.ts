// `npm start`: run the sidecar against a mock vLLM engine and print a short tour with curl commands that work
// as printed. Both children run from source (`<bun> main.ts ...`) so the tour always matches this checkout;
// set AIRUNTIME_BIN to run a compiled binary instead. Ports: DEMO_ENGINE_PORT (default 8000) and
// DEMO_SIDECAR_PORT (default 8080). Ctrl-C stops both children and removes the temporary directory.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const enginePort = Number(process.env.DEMO_ENGINE_PORT ?? 8000);
const sidecarPort = Number(process.env.DEMO_SIDECAR_PORT ?? 8080);
const bin = process.env.AIRUNTIME_BIN;
const underDeno = "Deno" in globalThis;
const command = (args: string[]): [string, string[]] =>
  bin
    ? [bin, args]
    : [process.execPath, [...(underDeno ? ["run", "-A"] : []), join(root, "main.ts"), ...args]];

const work = await mkdtemp(join(tmpdir(), "airuntime-demo-"));
const adaptersDir = join(work, "adapters");
const demoAdapter = join(adaptersDir, "demo-lora");
await mkdir(demoAdapter, { recursive: true });
// A complete (tiny) PEFT adapter: the mock engine, like vLLM, insists on adapter_config.json.
await writeFile(
  join(demoAdapter, "adapter_config.json"),
  `${JSON.stringify({ peft_type: "LORA", r: 8, lora_alpha: 16, target_modules: ["q_proj", "v_proj"], base_model_name_or_path: "meta-llama/Llama-3.1-8B-Instruct" }, null, 2)}\n`,
);
await writeFile(join(demoAdapter, "adapter_model.safetensors"), new Uint8Array(64));

const children: Array<{ name: string; proc: ChildProcess }> = [];
function start(name: string, args: string[], env: Record<string, string>): ChildProcess {
  const [cmd, argv] = command(args);
  const log = createWriteStream(join(work, `${name}.log`));
  // Own process group: Ctrl-C reaches only this script, which then stops the children in order.
  const proc = spawn(cmd, argv, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  proc.stdout!.pipe(log);
  proc.stderr!.pipe(log);
  proc.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`\n${name} exited (${signal ?? code}); its log (kept): ${join(work, `${name}.log`)}`);
      void stop(1);
    }
  });
  children.push({ name, proc });
  return proc;
}

let stopping = false;
async function stop(code: number): Promise<never> {
  stopping = true;
  await Promise.all(
    children.map(
      ({ proc }) =>
        new Promise<void>((r) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return r();
          proc.once("exit", () => r());
          proc.kill("SIGTERM");
          setTimeout(() => proc.kill("SIGKILL"), 5000).unref();
        }),
    ),
  );
  // A failed start keeps the logs it names, and shows their end, so the reason is on screen.
  if (code === 0) await rm(work, { recursive: true, force: true });
  else
    for (const { name } of children) {
      const file = join(work, `${name}.log`);
      const lines = (await readFile(file, "utf8").catch(() => "")).trimEnd().split("\n").slice(-15);
      console.error(`\n--- last lines of ${file} ---\n${lines.join("\n")}`);
    }
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

async function waitFor(url: string, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  console.error(
    `${what} did not come up at ${url} within ${timeoutMs / 1000} s (ports in use? set DEMO_ENGINE_PORT / DEMO_SIDECAR_PORT); logs in ${work}`,
  );
  return stop(1);
}

const engineUrl = `http://127.0.0.1:${enginePort}`;
const sidecarUrl = `http://127.0.0.1:${sidecarPort}`;
start(
  "mock-engine",
  ["mock-engine", "--engine", "vllm", "--host", "127.0.0.1", "--port", String(enginePort)],
  {},
);
await waitFor(`${engineUrl}/health`, "the mock vLLM engine");
start("sidecar", ["--host", "127.0.0.1", "--port", String(sidecarPort)], {
  INFERENCE_ENGINE: "vllm",
  INFERENCE_ENGINE_ENDPOINT: engineUrl,
  AIRUNTIME_ADAPTERS_DIR: adaptersDir,
  AIRUNTIME_STATE_DIR: join(work, "state"),
  DOWNLOADER_LOCAL_DIR: join(work, "models"),
});
await waitFor(`${sidecarUrl}/healthz`, "the sidecar");

// Check the models command now (the sidecar answers 503 "starting" until composed), so the tour's commands work.
async function modelsListed(): Promise<boolean> {
  for (
    const deadline = Date.now() + 15_000;
    Date.now() < deadline;
    await new Promise((r) => setTimeout(r, 100))
  ) {
    try {
      const r = await fetch(`${sidecarUrl}/v1/models`, { signal: AbortSignal.timeout(2000) });
      if (r.ok && Array.isArray(((await r.json()) as { data?: unknown }).data)) return true;
    } catch {}
  }
  return false;
}
const modelsOk = await modelsListed();

const h = `localhost:${sidecarPort}`;
const loadBody = JSON.stringify({ lora_name: "demo-lora", lora_path: demoAdapter });
console.log(`
airuntime demo: the sidecar in front of a mock vLLM engine (no GPU needed)

  sidecar        ${sidecarUrl}   (OpenAPI: ${sidecarUrl}/openapi.json)
  mock engine    ${engineUrl}   (vLLM personality; debug view: ${engineUrl}/_mock/stats)
  demo adapter   ${demoAdapter}
  logs           ${join(work, "sidecar.log")}, ${join(work, "mock-engine.log")}

Try:
  # standardized metrics (the engine's vLLM metrics, renamed to aibrix:*)
  curl -s ${h}/metrics | grep aibrix:

  # load the demo LoRA adapter into the engine through the sidecar
  curl -s -X POST ${h}/v1/lora_adapter/load -H 'content-type: application/json' -d '${loadBody}'

  # list models: the base model, plus demo-lora once loaded
  curl -s ${h}/v1/models
${modelsOk ? "" : "\n  (warning: GET /v1/models through the sidecar did not answer 200 just now; see the sidecar log)\n"}
Ctrl-C stops both processes.`);
