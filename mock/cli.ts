// `airuntime mock-engine`: run one mock engine until SIGTERM/SIGINT.
import { parseFlags, usageErrorText } from "../flags.ts";
import { createLogger } from "../log.ts";
import { onShutdownSignal } from "../platform/process.ts";
import { FAULT_SPECS, mergeFaults, parseFaultSpec } from "./faults.ts";
import { startMockEngine } from "./server.ts";
import { DEFAULT_MODEL } from "./state.ts";
import { type Faults, MOCK_ENGINES, type MockEngineName, type MockOptions } from "./types.ts";

/** Each engine's own default port (ENGINES.md): vLLM/trtllm/Triton 8000, SGLang 30000, llama.cpp 8080, TGI 3000. */
const DEFAULT_PORTS: Record<MockEngineName, number> = {
  vllm: 8000,
  sglang: 30000,
  llamacpp: 8080,
  tgi: 3000,
  trtllm: 8000,
  triton: 8000,
};

export const MOCK_USAGE = `usage: airuntime mock-engine --engine <${MOCK_ENGINES.join("|")}> [flags]

Run a mock inference engine (no GPU): the engine's own management API and Prometheus metrics,
under a simulated, seeded load, with injectable faults. Debug routes: GET /_mock/stats,
POST /_mock/restart?down_ms=N, POST|DELETE /_mock/fault, POST /_mock/step?n=N, POST /_mock/request.

  --engine E              ${MOCK_ENGINES.join(" | ")} (required)
  --host H                address to listen on (default 127.0.0.1)
  --port P                port (default: the engine's own, e.g. vllm 8000, sglang 30000; 0 = a free port)
  --metrics-port P        Triton's metrics port (default 8002), TGI's --prometheus-port (default 9000); 0 = free
  --model NAME            served model name (default ${DEFAULT_MODEL})
  --api-key KEY           require this key where the real engine does (vllm also reads VLLM_API_KEY)
  --max-loras N           vLLM --max-loras / SGLang --max-loras-per-batch (default 4)
  --startup-delay S       seconds spent "loading the model" before the engine is ready (default 0)
  --seed N                seed of the simulated load (default 42)
  --lora NAME=PATH        adapter present from start (repeatable; llama.cpp: --lora files)
  --no-metrics            no Prometheus endpoint (SGLang without --enable-metrics, llama.cpp without --metrics)
  --no-lora               LoRA not enabled (vLLM / SGLang without --enable-lora)
  --load R                peak simulated requests per second (default 4.5; 0 = idle)
  --tick-ms MS            wall ms per simulation step (default 100; 0 = one step per scrape)
  --model-control-mode M  Triton: none | poll | explicit (default explicit)
  --fault SPEC            repeatable: ${FAULT_SPECS}
  -h, --help              show this help

Environment: VLLM_ALLOW_RUNTIME_LORA_UPDATING and VLLM_SERVER_DEV_MODE are honoured when set
(the mock enables both by default).`;

const numberFlag = (name: string, v: unknown, min: number): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (String(v).trim() === "" || !Number.isFinite(n) || n < min)
    throw new Error(`--${name} expects a number >= ${min}, got '${v}'`);
  return n;
};

/** Turn flags + environment into MockOptions; throws Error with a message naming the bad flag. */
export function mockOptionsFromArgs(args: string[], env: Record<string, string | undefined>): MockOptions {
  const { values, positionals } = parseFlags(args, {
    engine: { type: "string" },
    host: { type: "string" },
    port: { type: "string" },
    "metrics-port": { type: "string" },
    model: { type: "string" },
    "api-key": { type: "string" },
    "max-loras": { type: "string" },
    "startup-delay": { type: "string" },
    seed: { type: "string" },
    lora: { type: "string", multiple: true },
    "no-metrics": { type: "boolean" },
    "no-lora": { type: "boolean" },
    load: { type: "string" },
    "tick-ms": { type: "string" },
    "model-control-mode": { type: "string" },
    fault: { type: "string", multiple: true },
  });
  const v = values as { [flag: string]: string | undefined } & { lora?: string[]; fault?: string[] } & {
    "no-metrics"?: boolean;
    "no-lora"?: boolean;
  };
  if (positionals.length > 0) throw new Error(`unexpected argument '${positionals[0]}'`);
  const engine = v.engine as MockEngineName | undefined;
  if (!engine) throw new Error("--engine is required");
  if (!MOCK_ENGINES.includes(engine))
    throw new Error(`--engine must be one of ${MOCK_ENGINES.join(", ")}, got '${engine}'`);
  const mode = v["model-control-mode"];
  if (mode !== undefined && !["none", "poll", "explicit"].includes(mode))
    throw new Error(`--model-control-mode must be none, poll or explicit, got '${mode}'`);
  let faults: Faults = {};
  for (const spec of v.fault ?? [])
    faults = mergeFaults(faults, parseFaultSpec(spec) as Record<string, unknown>);
  const loras: Record<string, string> = {};
  for (const l of v.lora ?? []) {
    const i = l.indexOf("=");
    if (i <= 0 || i === l.length - 1) throw new Error(`--lora expects NAME=PATH, got '${l}'`);
    loras[l.slice(0, i)] = l.slice(i + 1);
  }
  const delayS = numberFlag("startup-delay", v["startup-delay"], 0);
  const engineEnv: Record<string, string> = {};
  for (const k of ["VLLM_ALLOW_RUNTIME_LORA_UPDATING", "VLLM_SERVER_DEV_MODE"])
    if (env[k] !== undefined) engineEnv[k] = env[k]!;
  return {
    engine,
    host: v.host ?? "127.0.0.1",
    port: numberFlag("port", v.port, 0) ?? DEFAULT_PORTS[engine],
    metricsPort: numberFlag("metrics-port", v["metrics-port"], 0) ?? (engine === "tgi" ? 9000 : 8002),
    model: v.model,
    apiKey: v["api-key"] ?? (engine === "vllm" ? env.VLLM_API_KEY : undefined),
    maxLoras: numberFlag("max-loras", v["max-loras"], 1),
    startupDelayMs: delayS === undefined ? undefined : Math.round(delayS * 1000),
    seed: numberFlag("seed", v.seed, 0),
    faults,
    env: engineEnv,
    metrics: !v["no-metrics"],
    enableLora: !v["no-lora"],
    tickMs: numberFlag("tick-ms", v["tick-ms"], 0),
    load: numberFlag("load", v.load, 0),
    loras,
    modelControlMode: mode as MockOptions["modelControlMode"],
  };
}

export async function runMockEngine(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(MOCK_USAGE);
    return 0;
  }
  let opts: MockOptions;
  try {
    opts = mockOptionsFromArgs(args, env);
  } catch (e) {
    process.stderr.write(usageErrorText("airuntime mock-engine", (e as Error).message));
    return 2;
  }
  const log = createLogger({ base: { app: "airuntime-mock-engine", engine: opts.engine } });
  const engine = await startMockEngine(opts);
  log.info("mock engine listening", {
    url: engine.url,
    metrics_url: engine.metricsUrl,
    ...(engine.metricsPortUrl && engine.metricsPortUrl !== engine.metricsUrl
      ? { metrics_port_url: engine.metricsPortUrl }
      : {}),
    model: opts.model ?? DEFAULT_MODEL,
    startup_delay_ms: opts.startupDelayMs ?? 0,
    faults: opts.faults,
  });
  return await new Promise<number>((resolve) => {
    let stopping = false;
    onShutdownSignal(async (signal) => {
      if (stopping) return;
      stopping = true;
      log.info("mock engine stopping", { signal });
      await engine.stop();
      resolve(0);
    });
  });
}
