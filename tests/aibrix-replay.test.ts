// Replays the AIBrix runtime's recorded request shapes that issue 16 found answered differently (items 1-8)
// and checks AIBrix's status and body shape: in process through app.request() against the vLLM mock and a
// fake S3; the compiled binary only where the binary is the point (a GET body reaching the route).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { request as httpRequest } from "node:http";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { composeSidecar, type Sidecar } from "../compose.ts";
import { loadConfig } from "../config.ts";
import { silentLogger } from "../log.ts";
import { type MockEngine, startMockEngine } from "../mock/index.ts";
import { VLLM_VERSION } from "../mock/personalities/vllm.ts";
import { withRequestBody } from "../platform/serve.ts";
import { type FakeS3, startFakeS3 } from "./fakes/s3.ts";
import { mockStats, writeAdapterDir } from "./helpers/lora.ts";
import { freePort } from "./helpers/ports.ts";
import { startSidecar, waitUntil } from "./helpers/sidecar.ts";
import { randomPayload, removeTempDirs, sha256, sha256File, tempDir } from "./storage/helpers.ts";

const AK = "AKIDREPLAY";
const SK = "replay-secret-key";
let s3: FakeS3;
let mock: MockEngine;
let side: Sidecar;
let tmp: string;
let local: string;
let env: Record<string, string>;
const weights = randomPayload(300_000);
const cfg = new TextEncoder().encode('{"model_type":"llama"}');

beforeAll(async () => {
  s3 = startFakeS3({ credentials: [{ accessKeyId: AK, secretAccessKey: SK }] });
  await s3.put("bkt", "llm/m1/model.safetensors", weights);
  await s3.put("bkt", "llm/m1/config.json", cfg);
  await s3.put("whole", "config.json", cfg);
  mock = await startMockEngine({ engine: "vllm", port: 0, model: "base-model" });
  tmp = await tempDir("aibrix-replay");
  local = join(tmp, "models");
  await mkdir(local, { recursive: true });
  env = {
    INFERENCE_ENGINE: "vllm",
    INFERENCE_ENGINE_ENDPOINT: mock.url,
    AIRUNTIME_ADAPTERS_DIR: join(tmp, "adapters"),
    AIRUNTIME_STATE_DIR: join(tmp, "state"),
    DOWNLOADER_LOCAL_DIR: local,
    // TOS_* unset on purpose: tos:// falls back to these (item 5).
    AWS_ENDPOINT_URL: s3.url,
    AWS_ACCESS_KEY_ID: AK,
    AWS_SECRET_ACCESS_KEY: SK,
  };
  side = await composeSidecar(loadConfig(env), silentLogger);
});
afterAll(async () => {
  await side?.stop();
  await mock?.stop();
  await s3?.stop();
  await removeTempDirs();
});

const req = (path: string, init: RequestInit = {}) => side.app.request(`http://sidecar${path}`, init);
const postJson = (path: string, body: unknown) =>
  req(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("AIBrix replay", () => {
  test("1: a loaded name with a different path is 400 'already been loaded' and the old adapter stays", async () => {
    const a = await writeAdapterDir(join(tmp, "lora-a"), "same");
    const b = await writeAdapterDir(join(tmp, "lora-b"), "same");
    expect((await postJson("/v1/lora_adapter/load", { lora_name: "same", lora_path: a })).status).toBe(200);
    // Direct body: vLLM's answer through AIBrix's engine ErrorResponse.
    const direct = await postJson("/v1/lora_adapter/load", { lora_name: "same", lora_path: b });
    expect(direct.status).toBe(400);
    const dj = (await direct.json()) as Record<string, unknown>;
    expect(Object.keys(dj).sort()).toEqual(["code", "message", "object", "param", "type"]);
    expect(dj).toMatchObject({ object: "error", param: null, code: 400 });
    expect(dj.message).toContain("has already been loaded");
    // Delegation body (the controller's): AIBrix's {"error": ...}.
    const deleg = await postJson("/v1/lora_adapter/load", { lora_name: "same", artifact_url: b });
    expect(deleg.status).toBe(400);
    const gj = (await deleg.json()) as Record<string, unknown>;
    expect(Object.keys(gj)).toEqual(["error"]);
    expect(gj.error).toContain("has already been loaded");
    // The engine still serves the first adapter, loaded once.
    const stats = await mockStats(mock.url);
    expect(stats.adapters.same).toBe(a);
    expect(stats.calls.same).toEqual({ load: 1, unload: 0 });
    // Same path again: idempotent 200.
    const again = await postJson("/v1/lora_adapter/load", { lora_name: "same", lora_path: a });
    expect(again.status).toBe(200);
    expect(await again.text()).toBe(`Success: LoRA adapter 'same' loaded successfully from '${a}'.`);
  });

  test("2: GET /v1/model/list reads AIBrix's JSON body; ?local_dir= still works; a missing dir is an empty list", async () => {
    const dl = await postJson("/v1/model/download", { model_uri: "s3://bkt/llm/m1", local_dir: local });
    expect(dl.status).toBe(200);
    await waitUntil(async () => {
      const r = await req(`/v1/model/status?model_name=m1`);
      return ((await r.json()) as { model_status: string }).model_status === "downloaded";
    });
    const withBody = (body: string) =>
      side.app.request(
        withRequestBody(
          new Request("http://sidecar/v1/model/list", {
            method: "GET",
            headers: { "content-type": "application/json" },
          }),
          new TextEncoder().encode(body),
        ),
      );
    const listed = await withBody(JSON.stringify({ local_dir: local }));
    expect(listed.status).toBe(200);
    const lj = (await listed.json()) as { object: string; data: Array<Record<string, string>> };
    expect(lj.object).toBe("list");
    expect(lj.data.find((m) => m.model_name === "m1")).toEqual({
      model_name: "m1",
      model_root_path: join(local, "m1"),
      source: "s3",
      model_status: "downloaded",
    });
    const missing = await withBody(JSON.stringify({ local_dir: join(local, "not-there") }));
    expect(missing.status).toBe(200);
    expect(await missing.json()).toEqual({ object: "list", data: [] });
    const q = await req(`/v1/model/list?local_dir=${encodeURIComponent(local)}`);
    expect(((await q.json()) as { data: unknown[] }).data.length).toBe(lj.data.length);
    // ListModelRequest forbids other keys (FastAPI 422).
    const extra = await withBody(JSON.stringify({ local_dir: local, other: 1 }));
    expect(extra.status).toBe(422);
    expect(((await extra.json()) as { detail: Array<{ type: string }> }).detail[0]!.type).toBe(
      "extra_forbidden",
    );
  });

  test("2 (binary): the compiled sidecar receives the GET body", async () => {
    const p = await startSidecar({ ...env, INFERENCE_ENGINE_ENDPOINT: mock.url });
    try {
      const getWithBody = (body: string) =>
        new Promise<{ status: number; json: any }>((resolve, reject) => {
          const u = new URL(`${p.url}/v1/model/list`);
          const r = httpRequest(
            {
              host: u.hostname,
              port: u.port,
              path: u.pathname,
              method: "GET",
              headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
            },
            (res) => {
              let t = "";
              res.on("data", (c) => {
                t += c;
              });
              res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(t) }));
            },
          );
          r.on("error", reject);
          r.end(body);
        });
      const missing = await getWithBody(JSON.stringify({ local_dir: join(local, "not-there") }));
      expect(missing).toEqual({ status: 200, json: { object: "list", data: [] } });
      const listed = await getWithBody(JSON.stringify({ local_dir: local }));
      expect(listed.status).toBe(200);
      expect(listed.json.data.map((m: { model_name: string }) => m.model_name)).toContain("m1");
      const bad = await getWithBody(JSON.stringify({ local_dir: local, nope: true }));
      expect(bad.status).toBe(422);
    } finally {
      await p.stop();
    }
  });

  test("3: download lists the source first: missing -> 404 ModelNotFoundError, unreachable -> 503 with retry words", async () => {
    for (const uri of ["s3://bkt/llm/nope/", "s3://nobucket/llm/m9"]) {
      const r = await postJson("/v1/model/download", { model_uri: uri });
      expect(r.status).toBe(404);
      const j = (await r.json()) as Record<string, unknown>;
      expect(j).toMatchObject({ object: "error", type: "ModelNotFoundError", param: null, code: 404 });
      expect(String(j.message).startsWith(`Model not found at URI: ${uri}\nDetails: `)).toBe(true);
    }
    const closed = await freePort();
    const down = await composeSidecar(
      loadConfig({
        ...env,
        AWS_ENDPOINT_URL: `http://127.0.0.1:${closed}`,
        AIRUNTIME_STATE_DIR: join(tmp, "st2"),
      }),
      silentLogger,
    );
    try {
      const r = await down.app.request("http://sidecar/v1/model/download", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model_uri: "s3://bkt/llm/m2" }),
      });
      expect([502, 503, 504]).toContain(r.status);
      const j = (await r.json()) as Record<string, unknown>;
      expect(j).toMatchObject({ object: "error", param: null, code: r.status });
      expect(String(j.message)).toMatch(/service unavailable|connection refused|timeout/);
    } finally {
      await down.stop();
    }
  });

  test("4: s3://bucket with no path is 422 unless allow_bucket_root is set", async () => {
    for (const uri of ["s3://whole", "s3://whole/"]) {
      const r = await postJson("/v1/model/download", { model_uri: uri });
      expect(r.status).toBe(422);
      const j = (await r.json()) as Record<string, unknown>;
      expect(j).toMatchObject({ object: "error", type: "InvalidArgumentError", param: null, code: 422 });
      expect(String(j.message)).toContain("bucket_path");
    }
    const ok = await postJson("/v1/model/download", {
      model_uri: "s3://whole",
      download_extra_config: { allow_bucket_root: true },
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { model_name: string }).model_name).toBe("whole");
    await waitUntil(async () => {
      const r = await req(`/v1/model/status?model_name=whole`);
      return ((await r.json()) as { model_status: string }).model_status === "downloaded";
    });
  });

  test("5: tos:// uses the AWS_* keys when TOS_* are unset", async () => {
    const r = await postJson("/v1/model/download", { model_uri: "tos://bkt/llm/m1", model_name: "m1-tos" });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { source: string }).source).toBe("tos");
    await waitUntil(async () => {
      const s = await req(`/v1/model/status?model_name=m1-tos`);
      return ((await s.json()) as { model_status: string }).model_status === "downloaded";
    });
    expect(await sha256File(join(local, "m1-tos", "model.safetensors"))).toBe(sha256(weights));
  });

  test("6: a wrong method is 405 {detail: Method Not Allowed} with Allow; POST /metrics/ serves metrics", async () => {
    const cases: Array<[string, string, string]> = [
      ["GET", "/v1/lora_adapter/load", "POST"],
      ["PUT", "/v1/lora_adapter/unload", "POST"],
      ["POST", "/v1/models", "GET, HEAD"],
      ["POST", "/v1/model/list", "GET, HEAD, DELETE"], // DELETE /v1/model/{name}
      ["GET", "/v1/runtime/models/activate", "POST"],
      ["POST", "/healthz", "GET, HEAD"],
      ["DELETE", "/ready", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const r = await req(path, { method });
      expect(`${method} ${path} ${r.status}`).toBe(`${method} ${path} 405`);
      expect(r.headers.get("allow")).toBe(allow);
      expect(await r.json()).toEqual({ detail: "Method Not Allowed" });
    }
    for (const path of ["/metrics/", "/metrics"]) {
      const r = await req(path, { method: "POST" });
      expect(r.status).toBe(200);
      expect(await r.text()).toContain("aibrix:info_info");
    }
    // A path nobody serves stays 404.
    expect((await req("/v1/lora_adapter/nothing", { method: "POST" })).status).toBe(404);
  });

  test("7: malformed, empty and form-encoded bodies are FastAPI's 422 with a detail list", async () => {
    const send = (body: string, contentType?: string) =>
      req("/v1/lora_adapter/load", {
        method: "POST",
        headers: contentType ? { "content-type": contentType } : {},
        body,
      });
    const bad = await send('{"lora_name": "x",', "application/json");
    expect(bad.status).toBe(422);
    const bj = (await bad.json()) as { detail: Array<Record<string, unknown>> };
    expect(bj.detail[0]).toMatchObject({ type: "json_invalid", msg: "JSON decode error" });
    expect((bj.detail[0]!.loc as unknown[])[0]).toBe("body");
    const empty = await send("", "application/json");
    expect(empty.status).toBe(422);
    expect(await empty.json()).toEqual({
      detail: [{ type: "missing", loc: ["body"], msg: "Field required", input: null }],
    });
    const form = await send("lora_name=x&lora_path=%2Ftmp%2Fx", "application/x-www-form-urlencoded");
    expect(form.status).toBe(422);
    expect(await form.json()).toEqual({
      detail: [
        {
          type: "model_attributes_type",
          loc: ["body"],
          msg: "Input should be a valid dictionary or object to extract fields from",
          input: "lora_name=x&lora_path=%2Ftmp%2Fx",
        },
      ],
    });
    // No content type: FastAPI parses JSON anyway.
    const noType = await send(JSON.stringify({ lora_name: "x" }));
    expect(noType.status).toBe(422);
    const nj = (await noType.json()) as { detail: Array<{ type: string; loc: unknown[] }> };
    expect(nj.detail.every((d) => d.type !== "json_invalid")).toBe(true);
    expect(nj.detail.some((d) => d.type === "missing")).toBe(true);
    for (const path of ["/v1/model/download", "/v1/runtime/models/activate"]) {
      const r = await req(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{",
      });
      expect(r.status).toBe(422);
      expect(Array.isArray(((await r.json()) as { detail: unknown }).detail)).toBe(true);
    }
  });

  test("8: activate errors carry port 0 and ipc_name ''; engine_version comes from the engine", async () => {
    const r = await postJson("/v1/runtime/models/activate", {
      model_name: "m",
      artifact_url: "/models/m",
      engine: "no-such-engine",
    });
    expect(r.status).toBe(400);
    const j = (await r.json()) as Record<string, unknown>;
    expect(j).toMatchObject({ status: "error", model_name: "m", port: 0, ipc_name: "" });
    expect(typeof j.message).toBe("string");
    const line = await waitUntil(async () => {
      const text = await (await req("/metrics")).text();
      return (
        text.split("\n").find((l) => l.startsWith("aibrix:info_info{") && l.includes(VLLM_VERSION)) ?? null
      );
    });
    expect(line).toContain(`engine="vllm"`);
    expect(line).toContain(`engine_version="${VLLM_VERSION}"`);
  });
});
