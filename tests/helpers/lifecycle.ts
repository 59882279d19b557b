// Shared by the lifecycle integration tests: a sidecar (compiled binary) whose engines are mock engines
// (`airuntime mock-engine`, AIBRIX_MODEL_RUNTIME_MOCK=1), with fast supervision for tests.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Proc, startSidecar } from "./sidecar.ts";

export interface LifeEnv {
  dir: string;
  registry: string;
  env: Record<string, string>;
}

/** A private state dir and a port range unlikely to collide with parallel test files. */
export async function lifeEnv(extra: Record<string, string> = {}): Promise<LifeEnv> {
  const dir = await mkdtemp(join(tmpdir(), "life-it-"));
  const base = 30000 + Math.floor(Math.random() * 300) * 100;
  const registry = join(dir, "run", "engines.json");
  return {
    dir,
    registry,
    env: {
      AIBRIX_ENGINE_REGISTRY_PATH: registry,
      AIRUNTIME_STATE_DIR: join(dir, "state"),
      DOWNLOADER_LOCAL_DIR: join(dir, "models"),
      AIBRIX_WEIGHT_CACHE_DIR: join(dir, "cache"),
      AIRUNTIME_ENGINE_PORT_RANGE: `${base}-${base + 100}`,
      AIRUNTIME_SUPERVISOR_INTERVAL: "0.1",
      AIRUNTIME_ENGINE_RESTART_BACKOFF: "0.05",
      AIRUNTIME_ENGINE_STOP_GRACE: "3",
      ...engineEnv(),
      ...extra,
    },
  };
}

/** Mock engines by default; LIFE_FAKE_ENGINE=1 uses the tiny script engine instead (debugging). */
function engineEnv(): Record<string, string> {
  if (process.env.LIFE_FAKE_ENGINE !== "1") return { AIBRIX_MODEL_RUNTIME_MOCK: "1" };
  return fakeEngineEnv();
}

/** Engine commands that run the tiny script engine (tests/helpers/lifecycle-fake-engine.ts) for every kind used. */
export function fakeEngineEnv(): Record<string, string> {
  const cmd = JSON.stringify([
    process.execPath,
    resolve("tests/helpers/lifecycle-fake-engine.ts"),
    "{port}",
    "{model_name}",
  ]);
  return {
    AIRUNTIME_ENGINE_COMMAND_VLLM: cmd,
    AIRUNTIME_ENGINE_COMMAND_SGLANG: cmd,
    AIRUNTIME_ENGINE_COMMAND_TGI: cmd,
  };
}

export const start = (e: LifeEnv, more: Record<string, string> = {}) => startSidecar({ ...e.env, ...more });

export async function call(sc: Proc, method: string, path: string, body?: unknown) {
  const r = await fetch(sc.url + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, json };
}

export const post = (sc: Proc, path: string, body: unknown) => call(sc, "POST", path, body);

export async function models(sc: Proc): Promise<Array<Record<string, any>>> {
  return (await call(sc, "GET", "/v1/runtime/models")).json.models;
}

export async function model(sc: Proc, name: string): Promise<Record<string, any> | undefined> {
  return (await models(sc)).find((m) => m.model_name === name);
}

/** The engine's PID from the registry file (the API does not expose PIDs). */
export function enginePid(e: LifeEnv, name: string): number | null {
  try {
    const j = JSON.parse(readFileSync(e.registry, "utf8"));
    return j.engines.find((x: { model_name: string }) => x.model_name === name)?.pid ?? null;
  } catch {
    return null;
  }
}

export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

/** Test cleanup: kill the process group of every engine the registry still lists (never this runner). */
export function killRegistered(e: LifeEnv | undefined): void {
  if (!e) return;
  try {
    const j = JSON.parse(readFileSync(e.registry, "utf8")) as { engines: Array<{ pid: number | null }> };
    for (const { pid } of j.engines)
      if (pid && pid !== process.pid && alive(pid)) {
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
  } catch {
    // no registry: nothing launched
  }
}

/** Test cleanup: kill the engines (the listed PIDs' groups and every one the registry lists), remove the dir. */
export async function removeEnv(e: LifeEnv | undefined, pids: readonly number[] = []): Promise<void> {
  for (const p of pids) if (alive(p)) process.kill(-p, "SIGKILL");
  killRegistered(e);
  if (e) await rm(e.dir, { recursive: true, force: true });
}
