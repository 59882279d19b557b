// The sidecar in this process (composeSidecar; routes through app.request, no socket, no binary) over a
// private directory, with every log line captured. Engines it launches run
// tests/helpers/lifecycle-fake-engine.ts (given the activation's args). Two shapes: inProc() (request()
// with a parsed reply, the directory, the registry) and startInProcess() (the shape route tests use from a
// spawned sidecar: `app` for call(), output(), waitFor a log line, stop()). Tests of the compiled binary
// itself (CLI, signals, sockets, start-up) keep startSidecar (sidecar.ts).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Hono } from "hono";
import { composeSidecar, type Sidecar } from "../../compose.ts";
import { loadConfig } from "../../config.ts";
import { createLogger } from "../../log.ts";
import { waitUntil } from "./sidecar.ts";

export interface InProc {
  dir: string;
  registry: string;
  sidecar: Sidecar;
  lines: string[];
  env: Record<string, string>;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
}

export interface Reply {
  status: number;
  text: string;
  json: any;
}

/** The fake engine as every kind's command, with the activation's args appended. */
export function fakeEngineCommand(): string {
  return JSON.stringify([
    process.execPath,
    resolve("tests/helpers/lifecycle-fake-engine.ts"),
    "{port}",
    "{model_name}",
    "{args}",
  ]);
}

export function newDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Start a sidecar in this process; `dir` is reused when given (a restart on the same state). */
export async function inProc(env: Record<string, string> = {}, dir = newDir("inproc-")): Promise<InProc> {
  const base = 30000 + Math.floor(Math.random() * 300) * 100;
  const full: Record<string, string> = {
    INFERENCE_ENGINE_ENDPOINT: "http://127.0.0.1:9",
    AIRUNTIME_STATE_DIR: join(dir, "state"),
    AIBRIX_ENGINE_REGISTRY_PATH: join(dir, "run", "engines.json"),
    DOWNLOADER_LOCAL_DIR: join(dir, "models"),
    AIRUNTIME_ADAPTERS_DIR: join(dir, "adapters"),
    AIBRIX_WEIGHT_CACHE_DIR: join(dir, "cache"),
    AIRUNTIME_ENGINE_PORT_RANGE: `${base}-${base + 100}`,
    AIRUNTIME_SUPERVISOR_INTERVAL: "0.05",
    AIRUNTIME_ENGINE_RESTART_BACKOFF: "0.05",
    AIRUNTIME_ENGINE_COMMAND_VLLM: fakeEngineCommand(),
    LOG_LEVEL: "debug",
    ...env,
  };
  const lines: string[] = [];
  const log = createLogger({ level: "debug", sink: (l) => lines.push(l) });
  const sidecar = await composeSidecar(loadConfig(full), log);
  return {
    dir,
    registry: full.AIBRIX_ENGINE_REGISTRY_PATH!,
    sidecar,
    lines,
    env: full,
    async request(method, path, body, headers = {}) {
      const r = await sidecar.app.request(path, {
        method,
        headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      const text = await r.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: r.status, text, json };
    },
  };
}

export interface InProcessSidecar {
  app: Hono;
  /** Every log line so far (JSON lines, as the binary would print them). */
  output(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Start with `env` (as startSidecar takes it); state lives where env's directories say, else in `dir`.
 *  Without `dir`, stop() also removes the private directory made for it. */
export async function startInProcess(env: Record<string, string>, dir?: string): Promise<InProcessSidecar> {
  const s = await inProc({ AIRUNTIME_READY_INTERVAL: "0.1", LOG_LEVEL: "info", ...env }, dir);
  const output = () => s.lines.join("\n");
  return {
    app: s.sidecar.app,
    output,
    waitFor: (re, timeoutMs = 10_000) =>
      waitUntil(() => re.exec(output())?.[0], timeoutMs).then((m) => m as string),
    async stop() {
      await s.sidecar.stop();
      if (dir === undefined) rmSync(s.dir, { recursive: true, force: true });
    },
  };
}

/** A sample's value in an exposition (0 when absent). In-process sidecars share the process-wide registry
 *  (downloads, LoRA), so a test counts its own events as the difference of two scrapes. */
export function sampleValue(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** Every regular file under `dir` with its text (small files only). */
export function filesUnder(dir: string, out: Array<[string, string]> = []): Array<[string, string]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) filesUnder(p, out);
    else if (st?.isFile() && st.size < 4 * 1024 * 1024) out.push([p, readFileSync(p, "latin1")]);
  }
  return out;
}

/** Registry records (engines) as on disk; [] when the file does not exist. */
export function registryEngines(path: string): Array<Record<string, any>> {
  try {
    return JSON.parse(readFileSync(path, "utf8")).engines;
  } catch {
    return [];
  }
}

/** Kill the process group of every engine the registry lists, then remove the directory. */
export function cleanup(dir: string, registry: string): void {
  for (const e of registryEngines(registry))
    if (e.pid && e.pid !== process.pid)
      try {
        process.kill(-e.pid, "SIGKILL");
      } catch {
        // gone
      }
  rmSync(dir, { recursive: true, force: true });
}
