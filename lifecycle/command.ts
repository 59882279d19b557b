// Engine command lines as data: one template per engine kind (AIBrix's vLLM and SGLang command lines by
// default, overridable with AIRUNTIME_ENGINE_COMMAND_<KIND>), expanded with the activation's values.
// A template is a JSON array of strings or a whitespace-separated string. Placeholders:
//   {self} this airuntime binary   {engine} engine kind   {model} local weights path or model id
//   {model_name} served name       {port} engine port     {ipc_name} kvcached segment name
//   {args} the activation's engine args (engine_config.args + additional_config "engine-arg:<flag>");
//          a template without {args} ignores them (the mock engine takes none).
import { REDACTED } from "../redact.ts";
import { isSecretArg } from "./secrets.ts";
import type { EngineConfig } from "./types.ts";

export const DEFAULT_TEMPLATES: Record<string, string> = {
  vllm: "python -m vllm.entrypoints.openai.api_server --model {model} --served-model-name {model_name} --host 0.0.0.0 --port {port} --enable-sleep-mode {args}",
  sglang:
    "python -m sglang.launch_server --model-path {model} --served-model-name {model_name} --host 0.0.0.0 --port {port} --enable-memory-saver {args}",
};

/** Mock mode (AIBRIX_MODEL_RUNTIME_MOCK=1): every kind runs this binary's mock engine. */
export const MOCK_TEMPLATE = "{self} mock-engine --engine {engine} --port {port} --model {model_name}";

export interface CommandValues {
  self: readonly string[];
  engine: string;
  model: string;
  model_name: string;
  port: number;
  ipc_name: string;
  args: readonly string[];
}

/**
 * The argv for `template`. A request value never becomes an option of its own: a whole-token placeholder
 * whose value starts with "-" is joined to the flag before it (`--model=-x`, read as that flag's value by
 * argparse and its kin) and refused where there is no such flag.
 */
export function expandCommand(template: readonly string[], v: CommandValues): string[] {
  const out: string[] = [];
  for (const token of template) {
    if (token === "{args}") out.push(...v.args);
    else if (token === "{self}") out.push(...v.self);
    else {
      const value = token.replace(/\{(engine|model|model_name|port|ipc_name)\}/g, (_m, k: string) =>
        String(v[k as keyof CommandValues]),
      );
      const prev = out[out.length - 1];
      if (value.startsWith("-") && /^\{\w+\}$/.test(token)) {
        if (!prev?.startsWith("--") || prev.includes("="))
          throw new Error(`'${value.slice(0, 64)}' would be read as an option of the engine command`);
        out[out.length - 1] = `${prev}=${value}`;
      } else out.push(value);
    }
  }
  return out;
}

/** `{"--flag":"v","--bool":""}` plus legacy `additional_config` keys `engine-arg:<flag>` -> argv. */
export function engineArgs(
  config: EngineConfig | null | undefined,
  additional: Record<string, string> | null | undefined,
): string[] {
  const pairs: Array<[string, string]> = Object.entries(config?.args ?? {});
  for (const [k, v] of Object.entries(additional ?? {}))
    if (k.startsWith("engine-arg:")) pairs.push([k.slice("engine-arg:".length), v]);
  const out: string[] = [];
  for (const [flag, value] of pairs) {
    const f = flag.startsWith("-") ? flag : `--${flag}`;
    out.push(f);
    if (value !== "") out.push(value);
  }
  return out;
}

/** AIBrix's rule: default `kvc_<model_name>`, every char outside [A-Za-z0-9_-] becomes '-'. */
export function ipcNameFor(modelName: string, requested?: string | null): string {
  return (requested || `kvc_${modelName}`).replace(/[^A-Za-z0-9_-]/g, "-");
}

/**
 * AIBrix's checks on engine args that it can make without GPUs (the TP×PP = visible GPUs rule needs a
 * device count and is left to the engine). Returns the problem, or null.
 */
export function argProblem(args: readonly string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, args[i + 1]];
    if (flag === "--gpu-memory-utilization")
      return "--gpu-memory-utilization is incompatible with kvcached; use the pool KV policy instead";
    if (flag === "--data-parallel-size" && inline !== undefined && inline !== "1")
      return `--data-parallel-size=${inline} is unsupported by fixed topology pools`;
    if (flag === "--tensor-parallel-size" && !/^[1-9]\d*$/.test(inline ?? ""))
      return "--tensor-parallel-size must be a positive integer";
  }
  return null;
}

/** argv for logs: the value of any flag whose name looks secret (--api-key, --hf-token ...) is masked. */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf("=");
    if (a.startsWith("-") && eq > 0 && isSecretArg(a.slice(0, eq))) {
      out.push(`${a.slice(0, eq)}=${REDACTED}`);
    } else if (a.startsWith("-") && eq < 0 && isSecretArg(a) && i + 1 < argv.length) {
      out.push(a, REDACTED);
      i++;
    } else out.push(a);
  }
  return out;
}
