// One sleep/wake for launched and attached engines: completed operation ids of the attached engine go to
// the same persisted operation log as the launched engines' ones, so a retried operation after a sidecar
// restart answers applied:false instead of acting twice (the in-memory store forgot them).
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { startMockEngine } from "../mock/index.ts";
import { cleanup, type InProc, inProc, newDir } from "./helpers/inproc.ts";

const dir = newDir("sleep-wake-");
let registry = "";
afterAll(() => cleanup(dir, registry));

const isSleeping = async (url: string) =>
  ((await (await fetch(`${url}/is_sleeping`)).json()) as { is_sleeping: boolean }).is_sleeping;

test("attached engine: an operation id survives a sidecar restart (one persisted log)", async () => {
  const mock = await startMockEngine({ engine: "vllm", port: 0, model: "base-model" });
  let side: InProc | null = null;
  try {
    const env = { INFERENCE_ENGINE: "vllm", INFERENCE_ENGINE_ENDPOINT: mock.url };
    side = await inProc(env, dir);
    registry = side.registry;
    const sleep = { model_name: "base-model", level: 1, operation_id: "op-sleep" };
    const s1 = await side.request("POST", "/v1/runtime/models/sleep", sleep);
    expect(s1.json).toEqual({
      status: "success",
      model_name: "base-model",
      operation_id: "op-sleep",
      applied: true,
      phase: "sleeping",
    });
    expect(await isSleeping(mock.url)).toBe(true);
    const w1 = await side.request("POST", "/v1/runtime/models/wake", {
      model_name: "base-model",
      operation_id: "op-wake",
    });
    expect(w1.json).toMatchObject({ applied: true, phase: "active" });
    expect(await isSleeping(mock.url)).toBe(false);
    // The ids are on disk with the launched engines' ones.
    const ops = JSON.parse(readFileSync(side.registry, "utf8")).operations;
    expect(ops.sleep).toEqual(["base-model\u0000op-sleep"]);
    expect(ops.wake).toEqual(["base-model\u0000op-wake"]);
    await side.sidecar.stop();
    side = null;

    // A new sidecar on the same state: the retried sleep is recognised and the engine stays awake.
    side = await inProc(env, dir);
    const s2 = await side.request("POST", "/v1/runtime/models/sleep", sleep);
    expect(s2.status).toBe(200);
    expect(s2.json).toMatchObject({ operation_id: "op-sleep", applied: false, phase: "active" });
    expect(await isSleeping(mock.url)).toBe(false);
    // A new id acts.
    const s3 = await side.request("POST", "/v1/runtime/models/sleep", { ...sleep, operation_id: "op-2" });
    expect(s3.json).toMatchObject({ applied: true, phase: "sleeping" });
    expect(await isSleeping(mock.url)).toBe(true);
  } finally {
    await side?.sidecar.stop();
    await mock.stop();
  }
});
