// Crash safety: kill -9 the sidecar while engines run, start it again on the same registry. It re-adopts
// the live engines (PID + start time), reports the same snapshot, and remembers completed operation ids.
// A registry entry whose PID is alive but belongs to another process (reused PID) is not adopted.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { rm } from "node:fs/promises";
import type { Proc } from "./helpers/sidecar.ts";
import { waitUntil } from "./helpers/sidecar.ts";
import {
  alive,
  call,
  enginePid,
  type LifeEnv,
  lifeEnv,
  model,
  models,
  post,
  removeEnv,
  start,
} from "./helpers/lifecycle.ts";

let e: LifeEnv;
const procs: Proc[] = [];
const pids: number[] = [];
const others: LifeEnv[] = [];

afterAll(async () => {
  for (const p of procs) await p.stop("SIGKILL");
  for (const x of others) await removeEnv(x);
  await removeEnv(e, pids);
});

/** The whole snapshot but its observation time (engines run with no simulated load, so it is stable). */
async function stableSnapshot(sc: Proc) {
  const { observed_at, ...rest } = (await call(sc, "GET", "/v1/runtime/snapshot")).json;
  expect(typeof observed_at).toBe("string");
  return rest;
}

// Mock engines without simulated traffic: their request counters stay put between the two snapshots.
const IDLE_MOCK = JSON.stringify([
  "{self}",
  "mock-engine",
  "--engine",
  "{engine}",
  "--port",
  "{port}",
  "--model",
  "{model_name}",
  "--load",
  "0",
]);

test("kill -9 the sidecar: the next one re-adopts live engines with the same snapshot and operation ids", async () => {
  e = await lifeEnv({ AIRUNTIME_KVCTL_COMMAND: "true", AIRUNTIME_ENGINE_COMMAND_VLLM: IDLE_MOCK });
  const first = await start(e);
  procs.push(first);
  for (const name of ["one", "two"])
    expect(
      (
        await post(first, "/v1/runtime/models/activate", {
          model_name: name,
          artifact_url: `/models/${name}`,
        })
      ).status,
    ).toBe(200);
  await waitUntil(async () => (await models(first)).filter((m) => m.phase === "active").length === 2, 15_000);
  const s1 = await post(first, "/v1/runtime/models/sleep", {
    model_name: "two",
    level: 1,
    operation_id: "sleep-op",
  });
  expect(s1.json.applied).toBe(true);
  const k1 = await post(first, "/v1/runtime/models/kv-limit", {
    model_name: "one",
    limit_bytes: 5,
    operation_id: "kv-op",
  });
  expect(k1.json.applied).toBe(true);
  const before = await stableSnapshot(first);
  expect(
    before.models.map((m: { model_name: string; phase: string; alive: boolean }) => [
      m.model_name,
      m.phase,
      m.alive,
    ]),
  ).toEqual([
    ["one", "active", true],
    ["two", "sleeping", true],
  ]);
  const pidOne = enginePid(e, "one")!;
  const pidTwo = enginePid(e, "two")!;
  pids.push(pidOne, pidTwo);

  await first.stop("SIGKILL");
  expect(alive(pidOne) && alive(pidTwo)).toBe(true);

  const second = await start(e);
  procs.push(second);
  expect(await stableSnapshot(second)).toEqual(before);
  expect(enginePid(e, "one")).toBe(pidOne);
  expect(enginePid(e, "two")).toBe(pidTwo);
  const again = await post(second, "/v1/runtime/models/sleep", {
    model_name: "two",
    level: 1,
    operation_id: "sleep-op",
  });
  expect(again.json).toEqual({
    status: "success",
    model_name: "two",
    operation_id: "sleep-op",
    applied: false,
    phase: "sleeping",
  });
  const kvAgain = await post(second, "/v1/runtime/models/kv-limit", {
    model_name: "one",
    limit_bytes: 5,
    operation_id: "kv-op",
  });
  expect(kvAgain.json.applied).toBe(false);
  const metrics = await (await fetch(`${second.url}/metrics`)).text();
  expect(metrics).toContain('aibrix:modelclaim_engine_re_adoptions_total{result="success"} 2');
  expect(metrics).toContain('aibrix:modelclaim_engine_re_adoptions_total{result="duplicate"} 0');
  expect(metrics).toContain("aibrix:modelclaim_models_resident 2");

  // SIGTERM is not a deactivation: engines keep running for the next sidecar.
  await second.stop("SIGTERM");
  expect(alive(pidOne) && alive(pidTwo)).toBe(true);

  // A third sidecar, after one engine died while no sidecar ran: it restarts that one.
  process.kill(pidOne, "SIGKILL");
  await waitUntil(() => !alive(pidOne));
  const third = await start(e);
  procs.push(third);
  const restarted = await waitUntil(async () => {
    const m = await model(third, "one");
    const p = enginePid(e, "one");
    return m?.phase === "active" && p && p !== pidOne ? p : 0;
  }, 15_000);
  pids.push(restarted);
  expect((await model(third, "two"))!.phase).toBe("sleeping");
  for (const name of ["one", "two"]) await post(third, "/v1/runtime/models/deactivate", { model_name: name });
  await waitUntil(() => !alive(restarted) && !alive(pidTwo), 5000);
}, 60_000);

test("a reused PID (alive, other start time) is not adopted, and never signalled", async () => {
  const env = await lifeEnv();
  others.push(env);
  const reg = {
    version: 1,
    engines: [
      {
        model_name: "ghost",
        engine: "vllm",
        artifact_url: "/models/ghost",
        port: Number(env.env.AIRUNTIME_ENGINE_PORT_RANGE!.split("-")[0]),
        ipc_name: "kvc_ghost",
        pid: process.pid, // alive, but it is this test runner, not an engine
        pid_start_time: 1,
        engine_config: null,
        additional_config: null,
        claim_ref: null,
        phase: "active",
        restart_count: 0,
        last_error: null,
        last_transition: "2026-01-01T00:00:00Z",
        next_restart_at: null,
      },
      {
        model_name: "ghost",
        engine: "vllm",
        artifact_url: "/x",
        port: 1,
        ipc_name: "i",
        pid: null,
        phase: "active",
      },
      { model_name: 42, phase: "active" },
      {
        model_name: "broken",
        engine: "vllm",
        artifact_url: "/models/broken",
        port: 2,
        ipc_name: "kvc_broken",
        pid: null,
        phase: "failed",
        last_error: "engine exited; restart budget exhausted",
        restart_count: 5,
      },
    ],
  };
  mkdirSync(env.registry.replace(/\/[^/]+$/, ""), { recursive: true });
  writeFileSync(env.registry, JSON.stringify(reg));
  const sc = await start(env);
  procs.push(sc);
  const pid = await waitUntil(async () => {
    const m = await model(sc, "ghost");
    const p = enginePid(env, "ghost");
    return m?.phase === "active" && p && p !== process.pid ? p : 0;
  }, 15_000);
  pids.push(pid);
  const snap = (await call(sc, "GET", "/v1/runtime/snapshot")).json.models.find(
    (m: { model_name: string }) => m.model_name === "ghost",
  );
  expect(snap.restart_count).toBe(1);
  expect(readFileSync(env.registry, "utf8")).not.toContain(`"pid":${process.pid},`);
  const metrics = await (await fetch(`${sc.url}/metrics`)).text();
  expect(metrics).toContain('aibrix:modelclaim_engine_re_adoptions_total{result="restart_scheduled"} 1');
  expect(metrics).toContain('aibrix:modelclaim_engine_re_adoptions_total{result="duplicate"} 1');
  expect(metrics).toContain('aibrix:modelclaim_engine_re_adoptions_total{result="invalid"} 1');
  expect(metrics).toContain('aibrix:modelclaim_engine_re_adoptions_total{result="terminal"} 1');
  const broken = await model(sc, "broken");
  expect(broken).toMatchObject({ phase: "failed", ready: false });
  await post(sc, "/v1/runtime/models/deactivate", { model_name: "broken" });
  await post(sc, "/v1/runtime/models/deactivate", { model_name: "ghost" });
  await waitUntil(() => !alive(pid), 5000);
  await rm(env.dir, { recursive: true, force: true });
}, 30_000);

test("an unreadable registry is moved aside, never overwritten; the sidecar starts empty", async () => {
  const env = await lifeEnv();
  others.push(env);
  mkdirSync(dirname(env.registry), { recursive: true });
  writeFileSync(env.registry, "{not json");
  const sc = await start(env);
  procs.push(sc);
  expect(await models(sc)).toEqual([]);
  const aside = readdirSync(dirname(env.registry)).filter((f) => f.startsWith("engines.json.unreadable-"));
  expect(aside.length).toBe(1);
  expect(readFileSync(join(dirname(env.registry), aside[0]!), "utf8")).toBe("{not json");
  expect(sc.output()).toContain("engine registry unreadable");
});
