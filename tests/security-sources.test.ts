// Issue 7: disallowed sources are refused before any connection is made (AIRUNTIME_ALLOWED_SOURCES), and a
// download larger than AIRUNTIME_MAX_DOWNLOAD_BYTES is refused after planning, before any byte is fetched.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MockEngine, startMockEngine } from "../mock/index.ts";
import { type FakeS3, startFakeS3 } from "./fakes/s3.ts";
import { adapterFiles, call } from "./helpers/lora.ts";
import { type InProcessSidecar, startInProcess } from "./helpers/inproc.ts";
import { waitUntil } from "./helpers/sidecar.ts";

let connections = 0;
let trap: Server;
let trapUrl: string;
let engine: MockEngine;
let s3: FakeS3;
let sidecar: InProcessSidecar;

beforeAll(async () => {
  // Stands in for an internal address (e.g. a metadata service): counts every TCP connection it receives.
  trap = createServer((sock) => {
    connections++;
    sock.destroy();
  });
  await new Promise<void>((r) => trap.listen(0, "127.0.0.1", r));
  const addr = trap.address();
  trapUrl = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  engine = await startMockEngine({ engine: "vllm", port: 0 });
  s3 = startFakeS3({ anonymous: true });
  for (const [f, bytes] of Object.entries(adapterFiles("ok-lora")))
    await s3.put("allowed", `ok-lora/${f}`, bytes);
  for (const [f, bytes] of Object.entries(adapterFiles("other"))) await s3.put("other", `other/${f}`, bytes);
  const root = mkdtempSync(join(tmpdir(), "airuntime-sources-"));
  sidecar = await startInProcess({
    INFERENCE_ENGINE_ENDPOINT: engine.url,
    AIRUNTIME_ADAPTERS_DIR: join(root, "adapters"),
    DOWNLOADER_LOCAL_DIR: join(root, "models"),
    AIRUNTIME_STATE_DIR: join(root, "state"),
    AWS_ENDPOINT_URL: s3.url,
    AWS_ACCESS_KEY_ID: "AK",
    AWS_SECRET_ACCESS_KEY: "SK",
    AIRUNTIME_ALLOWED_SOURCES: "s3://allowed,hf://trusted-org",
    AIRUNTIME_MAX_DOWNLOAD_BYTES: "100k",
  });
});
afterAll(async () => {
  await sidecar?.stop();
  await engine?.stop();
  await s3?.stop();
  trap?.close();
});

test("an allowed source loads", async () => {
  const r = await call(sidecar.app, "/v1/lora_adapter/load", {
    lora_name: "ok-lora",
    artifact_url: "s3://allowed/ok-lora/",
  });
  expect(r.status).toBe(200);
});

test("disallowed sources are refused before any connection is made", async () => {
  const before = s3.totalBytes();
  const listsBefore = s3.counts.list ?? 0;
  const attempts = [
    call(sidecar.app, "/v1/lora_adapter/load", {
      lora_name: "trap-1",
      artifact_url: `${trapUrl}/adapter.tar`,
    }),
    call(sidecar.app, "/v1/lora_adapter/load", { lora_name: "trap-2", artifact_url: "s3://other/other/" }),
    call(sidecar.app, "/v1/lora_adapter/load", {
      lora_name: "trap-3",
      artifact_url: "hf://evil-org/adapter",
    }),
    call(sidecar.app, "/v1/model/download", {
      model_uri: `${trapUrl}/weights.safetensors`,
      model_name: "trap-m",
    }),
    call(sidecar.app, "/v1/model/download", { model_uri: "s3://other/other/", model_name: "trap-s3" }),
  ];
  for (const r of await Promise.all(attempts)) {
    expect(r.status).toBe(403);
    expect(r.text).toContain("AIRUNTIME_ALLOWED_SOURCES");
  }
  expect(connections).toBe(0);
  expect(s3.totalBytes()).toBe(before);
  expect(s3.counts.list ?? 0).toBe(listsBefore);
});

test("a source larger than AIRUNTIME_MAX_DOWNLOAD_BYTES fails before any byte is fetched", async () => {
  const big = new Uint8Array(300 * 1024).fill(7);
  await s3.put("allowed", "big-model/model.safetensors", big);
  s3.resetStats();
  const r = await call(sidecar.app, "/v1/model/download", {
    model_uri: "s3://allowed/big-model/",
    model_name: "big",
  });
  expect(r.status).toBe(200);
  const status = await waitUntil(async () => {
    const s = await call(sidecar.app, "/v1/model/status?model_name=big");
    return s.json?.model_status === "failed" ? s.json : null;
  });
  expect(JSON.stringify(status.error)).toContain("AIRUNTIME_MAX_DOWNLOAD_BYTES");
  expect(s3.stats("allowed", "big-model/model.safetensors").bytes).toBe(0);
  const lora = await call(sidecar.app, "/v1/lora_adapter/load", {
    lora_name: "big-lora",
    artifact_url: "s3://allowed/big-model/",
  });
  expect(lora.status).toBe(413);
});
