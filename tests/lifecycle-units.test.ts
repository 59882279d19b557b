// Pure parts of the lifecycle: command templates, ipc names, arg checks, operation log, registry file,
// re-adoption decisions, /metrics activity parsing, KV segment decoding, process groups.
import { afterAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { activityFromText } from "../lifecycle/activity.ts";
import { argProblem, engineArgs, expandCommand, ipcNameFor, redactArgv } from "../lifecycle/command.ts";
import { parseTemplate } from "../lib/command-line.ts";
import { readKvUsage } from "../lifecycle/kv.ts";
import { OperationLog } from "../lifecycle/operations.ts";
import { isOurProcess, processStartTime, spawnGroup, stopGroup } from "../lifecycle/proc.ts";
import { classify } from "../lifecycle/readopt.ts";
import { canonicalJson, createRegistry } from "../lifecycle/registry.ts";
import type { EngineRecord } from "../lifecycle/types.ts";
import { waitUntil } from "./helpers/sidecar.ts";

const dirs: string[] = [];
const tmp = async () => {
  const d = await mkdtemp(join(tmpdir(), "life-unit-"));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("command templates", () => {
  test("AIBrix vLLM command line with engine args in place of {args}", () => {
    const t = parseTemplate(
      "python -m vllm.entrypoints.openai.api_server --model {model} --served-model-name {model_name} --port {port} {args}",
    );
    const argv = expandCommand(t, {
      self: ["/bin/airuntime"],
      engine: "vllm",
      model: "/models/llama",
      model_name: "llama",
      port: 20001,
      ipc_name: "kvc_llama",
      args: engineArgs(
        { args: { "--max-model-len": "4096", "--enforce-eager": "" } },
        { "engine-arg:--seed": "7" },
      ),
    });
    expect(argv).toEqual([
      "python",
      "-m",
      "vllm.entrypoints.openai.api_server",
      "--model",
      "/models/llama",
      "--served-model-name",
      "llama",
      "--port",
      "20001",
      "--max-model-len",
      "4096",
      "--enforce-eager",
      "--seed",
      "7",
    ]);
  });
  test("JSON array templates keep spaces; {self} expands to several words; no {args} drops them", () => {
    const argv = expandCommand(parseTemplate('["{self}", "mock-engine", "--model", "{model_name}", "a b"]'), {
      self: ["/usr/bin/bun", "/src/main.ts"],
      engine: "sglang",
      model: "x",
      model_name: "m",
      port: 1,
      ipc_name: "i",
      args: ["--ignored"],
    });
    expect(argv).toEqual(["/usr/bin/bun", "/src/main.ts", "mock-engine", "--model", "m", "a b"]);
  });
  test("secret flag values are masked in logged command lines", () => {
    expect(redactArgv(["vllm", "--api-key", "sk-1", "--hf-token=abc", "--port", "1"])).toEqual([
      "vllm",
      "--api-key",
      "[REDACTED]",
      "--hf-token=[REDACTED]",
      "--port",
      "1",
    ]);
  });
  test("bad JSON templates are a clear error", () => {
    expect(() => parseTemplate("[1,2]")).toThrow(/JSON array of strings/);
  });
  test("ipc names follow AIBrix's sanitizing", () => {
    expect(ipcNameFor("org/llama.3")).toBe("kvc_org-llama-3");
    expect(ipcNameFor("m", "my ipc")).toBe("my-ipc");
  });
  test("AIBrix's kvcached arg checks", () => {
    expect(argProblem(["--gpu-memory-utilization", "0.9"])).toMatch(/incompatible with kvcached/);
    expect(argProblem(["--data-parallel-size=2"])).toMatch(/unsupported by fixed topology/);
    expect(argProblem(["--tensor-parallel-size", "0"])).toMatch(/positive integer/);
    expect(argProblem(["--tensor-parallel-size", "2", "--max-model-len", "10"])).toBeNull();
  });
});

describe("operation log", () => {
  test("remembers per action and model, keeps the last 128", () => {
    const log = new OperationLog();
    log.record("sleep", "m", "op1");
    expect(log.has("sleep", "m", "op1")).toBe(true);
    expect(log.has("wake", "m", "op1")).toBe(false);
    expect(log.has("sleep", "other", "op1")).toBe(false);
    for (let i = 0; i < 200; i++) log.record("sleep", "m", `x${i}`);
    expect(log.has("sleep", "m", "op1")).toBe(false);
    expect(log.has("sleep", "m", "x199")).toBe(true);
    expect(log.toJSON().sleep!.length).toBe(128);
    expect(new OperationLog(log.toJSON()).has("sleep", "m", "x199")).toBe(true);
  });
});

const rec = (over: Partial<EngineRecord> = {}): EngineRecord => ({
  model_name: "m",
  engine: "vllm",
  artifact_url: "/w",
  port: 20000,
  ipc_name: "kvc_m",
  pid: 123,
  pid_start_time: 42,
  engine_config: null,
  additional_config: null,
  claim_ref: null,
  phase: "active",
  restart_count: 0,
  last_error: null,
  last_transition: "2026-01-01T00:00:00Z",
  next_restart_at: null,
  ...over,
});

describe("registry file", () => {
  test("atomic write: sorted compact JSON, mode 0600, no temp files left, concurrent saves coalesce", async () => {
    const d = await tmp();
    const path = join(d, "sub", "engines.json");
    let engines = [rec()];
    const reg = createRegistry(path, () => ({ engines, operations: { sleep: ["m\u0000a"] } }));
    const saves = [reg.save(), reg.save(), reg.save()];
    engines = [rec(), rec({ model_name: "n" })];
    saves.push(reg.save());
    await Promise.all(saves);
    const text = await readFile(path, "utf8");
    expect(text.startsWith('{"engines":[{"additional_config":null,"artifact_url":"/w"')).toBe(true);
    expect(text).not.toContain(" ");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(d, "sub"))).mode & 0o777).toBe(0o700);
    expect((await readdir(join(d, "sub"))).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const loaded = await reg.load();
    expect(loaded.engines.map((e) => e.model_name)).toEqual(["m", "n"]);
    expect(loaded.operations.sleep).toEqual(["m\u0000a"]);
  });
  test("absent file is an empty registry; foreign content is an error", async () => {
    const d = await tmp();
    expect(
      (await createRegistry(join(d, "none.json"), () => ({ engines: [], operations: {} })).load()).engines,
    ).toEqual([]);
    await writeFile(join(d, "bad.json"), '{"version":9}');
    await expect(
      createRegistry(join(d, "bad.json"), () => ({ engines: [], operations: {} })).load(),
    ).rejects.toThrow(/unsupported content/);
  });
  test("canonical JSON sorts nested keys", () => {
    expect(canonicalJson({ b: 1, a: { d: 1, c: [{ f: 1, e: 2 }] } })).toBe(
      '{"a":{"c":[{"e":2,"f":1}],"d":1},"b":1}',
    );
  });
});

describe("re-adoption decisions", () => {
  const alive = (pid: number, start: number | null) => pid === 123 && start === 42;
  test("live process with the recorded start time is adopted", () =>
    expect(classify(rec(), alive)).toBe("success"));
  test("same PID, other start time (reused PID) is not ours", () =>
    expect(classify(rec({ pid_start_time: 41 }), alive)).toBe("restart_scheduled"));
  test("failed stays failed; stopping is finished or removed", () => {
    expect(classify(rec({ phase: "failed" }), alive)).toBe("terminal");
    expect(classify(rec({ phase: "stopping" }), alive)).toBe("stopping");
    expect(classify(rec({ phase: "stopping", pid: 9 }), alive)).toBe("removed");
  });
});

describe("snapshot inputs", () => {
  test("request activity keeps only the model's samples", () => {
    const text = [
      "# TYPE vllm:num_requests_running gauge",
      'vllm:num_requests_running{model_name="a"} 2',
      'vllm:num_requests_running{model_name="b"} 5',
      'vllm:num_requests_waiting{engine="0",model_name="a"} 3',
      'vllm:request_success_total{finished_reason="stop",model_name="a"} 10',
      'vllm:request_success_total{finished_reason="length",model_name="a"} 1',
    ].join("\n");
    expect(activityFromText(text, "a")).toEqual({
      request_metrics_observed: true,
      requests_running: 2,
      requests_waiting: 3,
      request_success_total: 11,
    });
    expect(activityFromText(text, "zzz").request_metrics_observed).toBe(false);
    const sglang = 'sglang:num_running_reqs{model_name="s"} 4\nsglang:num_queue_reqs{model_name="s"} 1\n';
    expect(activityFromText(sglang, "s")).toMatchObject({
      requests_running: 4,
      requests_waiting: 1,
      request_success_total: null,
    });
  });
  test("KV usage from the kvcached segment: total, used + prealloc", async () => {
    const d = await tmp();
    const b = Buffer.alloc(24);
    b.writeBigInt64LE(1000n, 0);
    b.writeBigInt64LE(300n, 8);
    b.writeBigInt64LE(20n, 16);
    await writeFile(join(d, "kvc_x"), b);
    expect(await readKvUsage("kvc_x", d)).toEqual({ total: 1000, used: 320 });
    expect(await readKvUsage("absent", d)).toEqual({ total: 0, used: 0 });
  });
});

describe("process groups", () => {
  test("spawned engines lead their own group; stopGroup kills the leader and its children", async () => {
    const d = await tmp();
    // The leader forks a child that ignores nothing: both must be gone after stopGroup.
    const p = spawnGroup(
      ["sh", "-c", `sleep 60 & echo $! > ${d}/child.pid; wait`],
      { PATH: process.env.PATH ?? "" },
      join(d, "log"),
    );
    expect(isOurProcess(p.pid, p.startTime)).toBe(true);
    expect(isOurProcess(p.pid, (p.startTime ?? 0) + 1)).toBe(false);
    const childPid = await waitUntil(
      async () => Number(await readFile(join(d, "child.pid"), "utf8").catch(() => "")) || 0,
    );
    await stopGroup(p.pid, p.startTime, 2000);
    expect(isOurProcess(p.pid, null)).toBe(false);
    await waitUntil(() => !isOurProcess(childPid, null));
  });
  test("a process that ignores SIGTERM is killed after the grace period", async () => {
    const d = await tmp();
    const p = spawnGroup(
      ["sh", "-c", `trap '' TERM; : > ${d}/ready; while :; do sleep 0.05; done`],
      { PATH: process.env.PATH ?? "" },
      join(d, "log"),
    );
    await waitUntil(() =>
      stat(join(d, "ready")).then(
        () => processStartTime(p.pid) !== null,
        () => false,
      ),
    );
    const t0 = Date.now();
    await stopGroup(p.pid, p.startTime, 300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(isOurProcess(p.pid, null)).toBe(false);
  });
  test("a plain child of ours is not mistaken after it exits", async () => {
    const c = spawn("true");
    await new Promise((r) => c.on("exit", r));
    await waitUntil(() => !isOurProcess(c.pid!, null));
  });
});
