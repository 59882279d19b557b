// ModelClaim lifecycle against the compiled binary and real engine processes (mock engines): activate,
// sleep/wake idempotency, crash restarts up to the budget, deactivate; AIBrix's error shapes.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { freePort } from "./helpers/ports.ts";
import { BIN, type Proc, spawnProcess, waitUntil } from "./helpers/sidecar.ts";
import {
  alive,
  call,
  enginePid,
  fakeEngineEnv,
  type LifeEnv,
  lifeEnv,
  model,
  models,
  post,
  removeEnv,
  start,
} from "./helpers/lifecycle.ts";

let e: LifeEnv;
let sc: Proc;
const pids: number[] = [];

setDefaultTimeout(30_000);

beforeAll(async () => {
  e = await lifeEnv({ AIRUNTIME_ENGINE_MAX_RESTARTS: "2" });
  // A stand-in nvidia-smi: one 80 GiB GPU; compute apps come from a file the test writes.
  mkdirSync(join(e.dir, "bin"));
  writeFileSync(
    join(e.dir, "bin", "nvidia-smi"),
    `#!/bin/sh\ncase "$1" in\n  --query-gpu=*) echo "GPU-test-0, 81920, 61440";;\n  --query-compute-apps=*) cat "${e.dir}/apps.csv" 2>/dev/null;;\nesac\n`,
    { mode: 0o755 },
  );
  sc = await start(e, {
    PATH: `${join(e.dir, "bin")}:${process.env.PATH}`,
    AIRUNTIME_KVCTL_COMMAND: JSON.stringify([
      "sh",
      "-c",
      `echo "$0 $1" >> ${e.dir}/kvctl.log`,
      "{ipc_name}",
      "{limit_bytes}",
    ]),
  });
});

afterAll(async () => {
  await sc?.stop();
  await removeEnv(e, pids);
});

describe("lifecycle on engine processes", () => {
  test("activate two models: each becomes active on its own port", async () => {
    const a = await post(sc, "/v1/runtime/models/activate", {
      model_name: "alpha",
      artifact_url: "/models/alpha",
      engine: "vllm",
      claim_ref: { namespace: "ns", name: "claim-a", uid: "u1" },
    });
    expect(a.status).toBe(200);
    expect(a.json).toEqual({
      status: "success",
      model_name: "alpha",
      port: a.json.port,
      ipc_name: "kvc_alpha",
      message: null,
    });
    const b = await post(sc, "/v1/runtime/models/activate", {
      model_name: "beta",
      artifact_url: "/models/beta",
      engine: "vllm",
    });
    expect(b.status).toBe(200);
    expect(b.json.port).not.toBe(a.json.port);
    await waitUntil(
      async () => (await models(sc)).filter((m) => m.phase === "active" && m.ready).length === 2,
      15_000,
    );
    for (const [r, name] of [
      [a, "alpha"],
      [b, "beta"],
    ] as const) {
      const h = await fetch(`http://127.0.0.1:${r.json.port}/health`);
      expect(h.status).toBe(200);
      // Each engine serves its own model under the activated name.
      const list = (await (await fetch(`http://127.0.0.1:${r.json.port}/v1/models`)).json()) as {
        data: { id: string }[];
      };
      expect(list.data.map((m) => m.id)).toContain(name);
    }
    pids.push(enginePid(e, "alpha")!, enginePid(e, "beta")!);
    expect(pids.every((p) => p > 0 && alive(p))).toBe(true);
    // Activation is idempotent by model_name: same port, no second process.
    const again = await post(sc, "/v1/runtime/models/activate", {
      model_name: "alpha",
      artifact_url: "/other",
    });
    expect(again.json.port).toBe(a.json.port);
    expect(enginePid(e, "alpha")).toBe(pids[0]!);
    const snap = (await call(sc, "GET", "/v1/runtime/snapshot")).json;
    const s = snap.models.find((m: { model_name: string }) => m.model_name === "alpha");
    expect(s).toMatchObject({
      artifact_url: "/models/alpha",
      claim_ref: { namespace: "ns", name: "claim-a", uid: "u1" },
      phase: "active",
      ready: true,
      alive: true,
      restart_count: 0,
      last_error: null,
    });
    const MiB = 1024 * 1024;
    expect(snap.accelerators).toEqual([
      { id: "GPU-test-0", hbm_total_bytes: 81920 * MiB, hbm_free_bytes: 61440 * MiB },
    ]);
    expect(snap.cached_artifacts).toContain("/models/alpha");
    // HBM of the engine's process group, per GPU, kept as a peak.
    writeFileSync(join(e.dir, "apps.csv"), `${pids[0]}, GPU-test-0, 2048\n${pids[1]}, GPU-test-0, 1024\n`);
    const peak = async () =>
      (await call(sc, "GET", "/v1/runtime/snapshot")).json.models.find(
        (m: { model_name: string }) => m.model_name === "alpha",
      ).hbm_peak_bytes;
    expect(await peak()).toBe(2048 * MiB);
    writeFileSync(join(e.dir, "apps.csv"), `${pids[0]}, GPU-test-0, 512\n`);
    expect(await peak()).toBe(2048 * MiB);
    expect(await (await fetch(`${sc.url}/metrics`)).text()).toContain(
      `aibrix:modelclaim_hbm_peak_bytes{model="alpha"} ${2048 * MiB}`,
    );
  });

  test("the HBM peak gauge follows the engines without anyone calling /v1/runtime/snapshot", async () => {
    const MiB = 1024 * 1024;
    writeFileSync(join(e.dir, "apps.csv"), `${pids[0]}, GPU-test-0, 3072\n`);
    // The supervisor samples accelerator memory every 5 s; only /metrics is read here.
    const seen = await waitUntil(async () => {
      const t = await (await fetch(`${sc.url}/metrics`)).text();
      return t.includes(`aibrix:modelclaim_hbm_peak_bytes{model="alpha"} ${3072 * MiB}`);
    }, 15_000).catch(() => false);
    expect(seen).toBe(true);
  });

  test("sleep and wake one model, idempotent by operation_id", async () => {
    const s1 = await post(sc, "/v1/runtime/models/sleep", {
      model_name: "alpha",
      level: 1,
      operation_id: "op-sleep-1",
    });
    expect(s1).toEqual({
      status: 200,
      json: {
        status: "success",
        model_name: "alpha",
        operation_id: "op-sleep-1",
        applied: true,
        phase: "sleeping",
      },
    });
    const s2 = await post(sc, "/v1/runtime/models/sleep", {
      model_name: "alpha",
      level: 1,
      operation_id: "op-sleep-1",
    });
    expect(s2.json).toMatchObject({ applied: false, phase: "sleeping" });
    const port = (await model(sc, "alpha"))!.port;
    const isSleeping = async () =>
      ((await (await fetch(`http://127.0.0.1:${port}/is_sleeping`)).json()) as { is_sleeping: boolean })
        .is_sleeping;
    expect(await isSleeping()).toBe(true);
    expect((await model(sc, "alpha"))!.ready).toBe(false);
    const w1 = await post(sc, "/v1/runtime/models/wake", { model_name: "alpha", operation_id: "op-wake-1" });
    expect(w1.json).toMatchObject({ applied: true, operation_id: "op-wake-1" });
    expect(["booting", "active"]).toContain(w1.json.phase);
    await waitUntil(async () => (await model(sc, "alpha"))!.phase === "active");
    expect(await isSleeping()).toBe(false);
    const w2 = await post(sc, "/v1/runtime/models/wake", { model_name: "alpha", operation_id: "op-wake-1" });
    expect(w2.json).toMatchObject({ applied: false, phase: "active" });
    // A new operation on an awake engine has nothing to do: applied false too.
    const w3 = await post(sc, "/v1/runtime/models/wake", { model_name: "alpha", operation_id: "op-wake-2" });
    expect(w3.json.applied).toBe(false);
    expect(enginePid(e, "alpha")).toBe(pids[0]!);
  });

  test("kv-limit runs the configured command once per operation_id", async () => {
    const k1 = await post(sc, "/v1/runtime/models/kv-limit", {
      model_name: "beta",
      limit_bytes: 1048576,
      operation_id: "kv-1",
    });
    expect(k1.json).toEqual({
      status: "success",
      model_name: "beta",
      operation_id: "kv-1",
      applied: true,
      phase: "active",
    });
    const k2 = await post(sc, "/v1/runtime/models/kv-limit", {
      model_name: "beta",
      limit_bytes: 1048576,
      operation_id: "kv-1",
    });
    expect(k2.json.applied).toBe(false);
    expect(readFileSync(join(e.dir, "kvctl.log"), "utf8")).toBe("kvc_beta 1048576\n");
  });

  test("AIBrix error shapes: 404 unknown model, 422 unknown field, 400 bad args", async () => {
    const k = await post(sc, "/v1/runtime/models/kv-limit", {
      model_name: "nope",
      limit_bytes: 1,
      operation_id: "x",
    });
    expect(k).toEqual({ status: 404, json: { detail: "model 'nope' is not active" } });
    const bad = await post(sc, "/v1/runtime/models/activate", {
      model_name: "x",
      artifact_url: "/m",
      surprise: true,
    });
    expect(bad.status).toBe(422);
    expect(bad.json.detail[0]).toMatchObject({ type: "extra_forbidden", loc: ["body", "surprise"] });
    const gpu = await post(sc, "/v1/runtime/models/activate", {
      model_name: "x",
      artifact_url: "/m",
      engine_config: { args: { "--gpu-memory-utilization": "0.9" } },
    });
    expect(gpu.status).toBe(400);
    expect(gpu.json).toMatchObject({ status: "error", model_name: "x" });
    expect(gpu.json.message).toContain("incompatible with kvcached");
    const eng = await post(sc, "/v1/runtime/models/activate", {
      model_name: "x",
      artifact_url: "/m",
      engine: "nope",
    });
    expect(eng.status).toBe(400);
    expect(eng.json.message).toContain("engine 'nope' is not supported");
    // An explicit port (inside the engine range) another process holds is refused up front.
    const top = Number(e.env.AIRUNTIME_ENGINE_PORT_RANGE!.split("-")[1]) - 1;
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(top, "127.0.0.1", r));
    try {
      const busy = await post(sc, "/v1/runtime/models/activate", {
        model_name: "x",
        artifact_url: "/m",
        port: top,
      });
      expect(busy.status).toBe(400);
      expect(busy.json.message).toContain("is not free");
    } finally {
      await new Promise((r) => holder.close(r));
    }
    // One outside AIRUNTIME_ENGINE_PORT_RANGE (here: the sidecar's own) is a 422 naming the field.
    const outside = await post(sc, "/v1/runtime/models/activate", {
      model_name: "x",
      artifact_url: "/m",
      port: Number(new URL(sc.url).port),
    });
    expect(outside.status).toBe(422);
    expect(outside.json.detail[0].loc).toEqual(["body", "port"]);
    expect(await model(sc, "x")).toBeUndefined();
  });

  test("an SGLang engine sleeps and wakes through memory release/resume", async () => {
    const a = await post(sc, "/v1/runtime/models/activate", {
      model_name: "sg",
      artifact_url: "/models/sg",
      engine: "sglang",
    });
    expect(a.status).toBe(200);
    await waitUntil(async () => (await model(sc, "sg"))?.phase === "active", 15_000);
    const s = await post(sc, "/v1/runtime/models/sleep", {
      model_name: "sg",
      level: 1,
      operation_id: "sg-s",
    });
    expect(s.json).toMatchObject({ applied: true, phase: "sleeping" });
    const w = await post(sc, "/v1/runtime/models/wake", { model_name: "sg", operation_id: "sg-w" });
    expect(w.json.applied).toBe(true);
    await waitUntil(async () => (await model(sc, "sg"))?.phase === "active");
    const pid = enginePid(e, "sg")!;
    expect((await post(sc, "/v1/runtime/models/deactivate", { model_name: "sg" })).status).toBe(200);
    expect(alive(pid)).toBe(false);
  });

  test("409 for an engine kind without sleep (TGI); its activation and deactivation still work", async () => {
    const a = await post(sc, "/v1/runtime/models/activate", {
      model_name: "gamma",
      artifact_url: "/models/g",
      engine: "tgi",
    });
    expect(a.status).toBe(200);
    const s = await post(sc, "/v1/runtime/models/sleep", {
      model_name: "gamma",
      level: 1,
      operation_id: "g1",
    });
    expect(s).toEqual({ status: 409, json: { detail: "sleep is unsupported for engine 'tgi'" } });
    const w = await post(sc, "/v1/runtime/models/wake", { model_name: "gamma", operation_id: "g2" });
    expect(w).toEqual({ status: 409, json: { detail: "wake is unsupported for engine 'tgi'" } });
    await waitUntil(async () => enginePid(e, "gamma"));
    const pid = enginePid(e, "gamma")!;
    expect((await post(sc, "/v1/runtime/models/deactivate", { model_name: "gamma" })).status).toBe(200);
    expect(alive(pid)).toBe(false);
  });

  test("a killed engine restarts; after the restart budget it is failed", async () => {
    let pid = enginePid(e, "beta")!;
    for (let n = 1; n <= 2; n++) {
      process.kill(pid, "SIGKILL");
      pid = await waitUntil(async () => {
        const p = enginePid(e, "beta");
        const m = await model(sc, "beta");
        return p && p !== pid && m?.phase === "active" ? p : 0;
      }, 15_000);
      pids.push(pid);
      const snap = (await call(sc, "GET", "/v1/runtime/snapshot")).json;
      expect(snap.models.find((m: { model_name: string }) => m.model_name === "beta").restart_count).toBe(n);
    }
    process.kill(pid, "SIGKILL");
    await waitUntil(async () => (await model(sc, "beta"))?.phase === "failed", 10_000);
    const snap = (await call(sc, "GET", "/v1/runtime/snapshot")).json;
    const beta = snap.models.find((m: { model_name: string }) => m.model_name === "beta");
    expect(beta).toMatchObject({ phase: "failed", ready: false, alive: false, restart_count: 2 });
    expect(beta.last_error).toBe("engine exited; restart budget exhausted");
    const again = await post(sc, "/v1/runtime/models/activate", {
      model_name: "beta",
      artifact_url: "/models/beta",
    });
    expect(again.status).toBe(500);
    expect(again.json.message).toContain("deactivate it before activating again");
    const metrics = await (await fetch(`${sc.url}/metrics`)).text();
    expect(metrics).toContain('aibrix:modelclaim_engine_restart_attempts_total{model="beta"} 2');
    expect(metrics).toContain('aibrix:modelclaim_engine_restart_budget_exhausted_total{model="beta"} 1');
    expect(metrics).toContain('aibrix:modelclaim_engine_state{phase="failed"} 1');
    expect(metrics).toContain('aibrix:modelclaim_engine_state{phase="active"} 1');
    expect(metrics).toContain(
      'aibrix:modelclaim_lifecycle_operations_total{model="alpha",action="sleep",result="applied"} 1',
    );
    expect(metrics).toContain(
      'aibrix:modelclaim_lifecycle_operations_total{model="alpha",action="sleep",result="skipped"} 1',
    );
    expect(metrics).toContain('aibrix:modelclaim_kv_limit_operations_total{model="beta",result="applied"} 1');
    expect(metrics).toContain('aibrix:modelclaim_kv_limit_applied_bytes{model="beta"} 1048576');
  });

  test("concurrent activations get distinct ports", async () => {
    const names = ["c1", "c2", "c3"];
    const replies = await Promise.all(
      names.map((n) =>
        post(sc, "/v1/runtime/models/activate", { model_name: n, artifact_url: `/models/${n}` }),
      ),
    );
    const ports = replies.map((r) => r.json.port);
    expect(new Set(ports).size).toBe(3);
    await waitUntil(
      async () => (await models(sc)).filter((m) => names.includes(m.model_name) && m.ready).length === 3,
      15_000,
    );
    const cpids = names.map((n) => enginePid(e, n)!);
    await Promise.all(names.map((n) => post(sc, "/v1/runtime/models/deactivate", { model_name: n })));
    expect(cpids.some(alive)).toBe(false);
  });

  test("deactivate both: processes gone, models gone", async () => {
    for (const name of ["alpha", "beta"]) {
      const r = await post(sc, "/v1/runtime/models/deactivate", { model_name: name });
      expect(r).toEqual({ status: 200, json: { status: "success" } });
    }
    expect(await models(sc)).toEqual([]);
    for (const p of pids) await waitUntil(() => !alive(p), 5000);
    // Unknown models deactivate successfully, as in AIBrix.
    expect((await post(sc, "/v1/runtime/models/deactivate", { model_name: "never" })).status).toBe(200);
    const reg = JSON.parse(readFileSync(e.registry, "utf8"));
    expect(reg.engines).toEqual([]);
  });
});

describe("engine environment", () => {
  test("kvcached variables are set; the pod's variables pass through, the sidecar's API key does not", async () => {
    const env = await lifeEnv({
      ...fakeEngineEnv(),
      AIBRIX_MODEL_RUNTIME_MOCK: "0",
      AIRUNTIME_API_KEY: "sidecar-key-123456",
      HF_TOKEN: "hf_engine_needs_this",
    });
    const side = await start(env);
    const auth = { authorization: "Bearer sidecar-key-123456", "content-type": "application/json" };
    const api = (path: string, body: unknown) =>
      fetch(side.url + path, { method: "POST", headers: auth, body: JSON.stringify(body) });
    try {
      const r = await api("/v1/runtime/models/activate", { model_name: "env/test", artifact_url: "/m" });
      expect(r.status).toBe(200);
      const { port } = (await r.json()) as { port: number };
      const engineEnv = (await waitUntil(async () =>
        (await fetch(`http://127.0.0.1:${port}/_env`)).json(),
      )) as Record<string, string>;
      expect(engineEnv).toMatchObject({
        ENABLE_KVCACHED: "true",
        KVCACHED_AUTOPATCH: "1",
        KVCACHED_IPC_NAME: "kvc_env-test",
        VLLM_SERVER_DEV_MODE: "1",
        HF_TOKEN: "hf_engine_needs_this",
      });
      expect(engineEnv.AIRUNTIME_API_KEY).toBeUndefined();
      expect((await api("/v1/runtime/models/deactivate", { model_name: "env/test" })).status).toBe(200);
    } finally {
      await side.stop();
      await removeEnv(env);
    }
  });
});

describe("without a KV limit command", () => {
  test("kv-limit answers 501 naming the setting", async () => {
    const env = await lifeEnv({ ...fakeEngineEnv(), AIBRIX_MODEL_RUNTIME_MOCK: "0", PATH: "/usr/bin:/bin" });
    const side = await start(env);
    try {
      expect(
        (await post(side, "/v1/runtime/models/activate", { model_name: "k", artifact_url: "/m" })).status,
      ).toBe(200);
      const r = await post(side, "/v1/runtime/models/kv-limit", {
        model_name: "k",
        limit_bytes: 1,
        operation_id: "o",
      });
      expect(r.status).toBe(501);
      expect(r.json.detail).toContain("AIRUNTIME_KVCTL_COMMAND");
      const pid = enginePid(env, "k")!;
      await post(side, "/v1/runtime/models/deactivate", { model_name: "k" });
      expect(alive(pid)).toBe(false);
    } finally {
      await side.stop();
      await removeEnv(env);
    }
  });
});

describe("sleep/wake routing", () => {
  test("launched engines go to the lifecycle manager, other model names to the attached engine", async () => {
    const port = await freePort();
    const attached = spawnProcess(BIN, [
      "mock-engine",
      "--engine",
      "vllm",
      "--port",
      String(port),
      "--model",
      "attached",
    ]);
    const env = await lifeEnv({ INFERENCE_ENGINE_ENDPOINT: `http://127.0.0.1:${port}` });
    const side = await start(env);
    try {
      await waitUntil(() => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok), 10_000);
      expect(
        (await post(side, "/v1/runtime/models/activate", { model_name: "launched", artifact_url: "/m" }))
          .status,
      ).toBe(200);
      await waitUntil(async () => (await model(side, "launched"))?.phase === "active");
      const launchedPort = (await model(side, "launched"))!.port;
      const sleeping = async (p: number) =>
        ((await (await fetch(`http://127.0.0.1:${p}/is_sleeping`)).json()) as { is_sleeping: boolean })
          .is_sleeping;

      const a = await post(side, "/v1/runtime/models/sleep", {
        model_name: "attached",
        level: 1,
        operation_id: "a1",
      });
      expect(a.json).toMatchObject({ status: "success", model_name: "attached", applied: true });
      expect(await sleeping(port)).toBe(true);
      expect(await sleeping(launchedPort)).toBe(false);

      const l = await post(side, "/v1/runtime/models/sleep", {
        model_name: "launched",
        level: 1,
        operation_id: "a1",
      });
      expect(l.json).toEqual({
        status: "success",
        model_name: "launched",
        operation_id: "a1",
        applied: true,
        phase: "sleeping",
      });
      expect(await sleeping(launchedPort)).toBe(true);
      expect((await model(side, "launched"))!.phase).toBe("sleeping");

      expect(
        (await post(side, "/v1/runtime/models/wake", { model_name: "attached", operation_id: "w" })).json
          .applied,
      ).toBe(true);
      expect(await sleeping(port)).toBe(false);
      expect(await sleeping(launchedPort)).toBe(true);
      const pid = enginePid(env, "launched")!;
      await post(side, "/v1/runtime/models/deactivate", { model_name: "launched" });
      expect(alive(pid)).toBe(false);
    } finally {
      await side.stop();
      await attached.stop();
      await removeEnv(env);
    }
  });
});
