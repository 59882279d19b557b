// Issue 7: every file operation stays inside its configured root, symlinks resolved. Symlinks planted
// inside the roots point outside; the test proves nothing outside is read, written or deleted.
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MockEngine, startMockEngine } from "../mock/index.ts";
import { type FakeS3, startFakeS3 } from "./fakes/s3.ts";
import { adapterFiles, call } from "./helpers/lora.ts";
import { type InProcessSidecar, startInProcess } from "./helpers/inproc.ts";

let root: string;
let outside: string;
let engine: MockEngine;
let s3: FakeS3;
let sidecar: InProcessSidecar;
const snapshot = () =>
  readdirSync(outside, { recursive: true })
    .map(String)
    .sort()
    .map((f) =>
      statSync(join(outside, f)).isFile() ? `${f}:${readFileSync(join(outside, f), "utf8")}` : `${f}/`,
    );
let before: string[];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "airuntime-paths-"));
  outside = join(root, "outside");
  mkdirSync(join(outside, "victim", "sub"), { recursive: true });
  writeFileSync(join(outside, "victim", "keep.txt"), "do not touch");
  writeFileSync(join(outside, "victim", "sub", "adapter_config.json"), "{}");
  const adapters = join(root, "adapters");
  const models = join(root, "models");
  mkdirSync(adapters, { recursive: true });
  mkdirSync(models, { recursive: true });
  symlinkSync(join(outside, "victim"), join(adapters, "evil"));
  symlinkSync(join(outside, "victim"), join(models, "evil"));
  mkdirSync(join(root, "secrets"), { recursive: true });
  symlinkSync(join(outside, "victim"), join(root, "secrets", "evil-secret"));
  before = snapshot();
  engine = await startMockEngine({ engine: "vllm", port: 0 });
  s3 = startFakeS3({ anonymous: true });
  for (const [f, bytes] of Object.entries(adapterFiles("evil"))) await s3.put("adapters", `evil/${f}`, bytes);
  sidecar = await startInProcess({
    INFERENCE_ENGINE_ENDPOINT: engine.url,
    AIRUNTIME_ADAPTERS_DIR: adapters,
    DOWNLOADER_LOCAL_DIR: models,
    AIRUNTIME_STATE_DIR: join(root, "state"),
    AIRUNTIME_CREDENTIALS_DIR: join(root, "secrets"),
    AWS_ENDPOINT_URL: s3.url,
    AWS_ACCESS_KEY_ID: "AK",
    AWS_SECRET_ACCESS_KEY: "SK",
  });
});
afterAll(async () => {
  await sidecar?.stop();
  await engine?.stop();
  await s3?.stop();
});

test("LoRA: a symlinked adapter dir pointing outside is refused for load and never cleaned up", async () => {
  const load = await call(sidecar.app, "/v1/lora_adapter/load", {
    lora_name: "evil",
    artifact_url: "s3://adapters/evil/",
  });
  expect(load.status).toBe(400);
  expect(load.text).toMatch(/outside/);
  const unload = await call(sidecar.app, "/v1/lora_adapter/unload", {
    lora_name: "evil",
    cleanup_local: true,
  });
  expect(unload.status).toBeGreaterThanOrEqual(400);
  for (const bad of ["../x", "a/b", "x".repeat(200)]) {
    const r = await call(sidecar.app, "/v1/lora_adapter/load", {
      lora_name: bad,
      artifact_url: "s3://adapters/evil/",
    });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
  }
  expect(snapshot()).toEqual(before);
});

test("LoRA: credentials_secret cannot name a directory outside the secrets root", async () => {
  for (const secret of ["../outside/victim", "evil-secret"]) {
    const r = await call(sidecar.app, "/v1/lora_adapter/load", {
      lora_name: "secret-probe",
      artifact_url: "s3://adapters/evil/",
      credentials_secret: secret,
    });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
  }
  expect(snapshot()).toEqual(before);
});

test("models: symlinked model dirs, '../' names and foreign local_dir are refused; delete touches nothing outside", async () => {
  const viaLink = await call(sidecar.app, "/v1/model/download", {
    model_uri: "s3://adapters/evil/",
    model_name: "evil",
  });
  expect(viaLink.status).toBe(400);
  const nested = await call(sidecar.app, "/v1/model/download", {
    model_uri: "s3://adapters/evil/",
    model_name: "evil/sub",
  });
  expect(nested.status).toBe(400);
  const dotdot = await call(sidecar.app, "/v1/model/download", {
    model_uri: "s3://adapters/evil/",
    model_name: "../outside",
  });
  expect(dotdot.status).toBeGreaterThanOrEqual(400);
  const foreign = await call(sidecar.app, "/v1/model/download", {
    model_uri: "s3://adapters/evil/",
    local_dir: outside,
  });
  expect(foreign.status).toBe(400);
  expect(foreign.text).toMatch(/outside the download roots/);
  const del = await sidecar.app.request("/v1/model/evil/sub", { method: "DELETE" });
  expect(del.status).toBeGreaterThanOrEqual(400);
  const del2 = await sidecar.app.request("/v1/model/evil", { method: "DELETE" });
  expect(del2.status).toBeGreaterThanOrEqual(400);
  const list = await sidecar.app.request("/v1/model/list", { method: "GET" });
  expect(list.status).toBe(200);
  expect(snapshot()).toEqual(before);
});
