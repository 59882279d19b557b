// Issue 7: secrets planted through every entry point (env, request credentials, additional_config, the
// Authorization header, credentials_secret files, download_extra_config) never show up in logs, response
// bodies, /metrics or any file the process wrote.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MockEngine, startMockEngine } from "../mock/index.ts";
import { type FakeS3, startFakeS3 } from "./fakes/s3.ts";
import { adapterFiles, call } from "./helpers/lora.ts";
import { type Proc, startSidecar, waitUntil } from "./helpers/sidecar.ts";

const M = {
  envHf: "MARKER-ENV-HF-7f3a91c2",
  envAwsSecret: "MARKER-ENV-AWS-SECRET-0b7d",
  envTos: "MARKER-ENV-TOS-SECRET-55ce",
  apiKey: "MARKER-API-KEY-41aa9e",
  reqAwsSecret: "MARKER-REQ-AWS-SECRET-c0ffee",
  reqHfToken: "MARKER-REQ-HF-TOKEN-beef01",
  engineKey: "MARKER-ENGINE-KEY-9d9d9d",
  fileSecret: "MARKER-FILE-SECRET-aa77aa",
  extraSk: "MARKER-EXTRA-SK-1234ab",
  extraHf: "MARKER-EXTRA-HF-5678cd",
};

let root: string;
let engine: MockEngine;
let s3: FakeS3;
let sidecar: Proc;
/** A hub that refuses every token at once (401): hf:// calls fail without connect retries and backoff. */
let hub: Server;
let hubUrl: string;
const bodies: string[] = [];

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (st.isFile() && st.size < 8 * 1024 * 1024) out.push(p);
  }
  return out;
}

beforeAll(async () => {
  hub = createServer((_req, res) => {
    res.writeHead(401, { "content-type": "application/json" });
    res.end('{"error":"Invalid credentials in Authorization header"}');
  });
  await new Promise<void>((r) => hub.listen(0, "127.0.0.1", r));
  hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
  root = mkdtempSync(join(tmpdir(), "airuntime-secrets-"));
  engine = await startMockEngine({ engine: "vllm", port: 0, apiKey: M.engineKey });
  s3 = startFakeS3({ credentials: [{ accessKeyId: "AKGOOD", secretAccessKey: M.reqAwsSecret }] });
  for (const [f, bytes] of Object.entries(adapterFiles("sec-lora")))
    s3.put("adapters", `sec-lora/${f}`, bytes);
  const creds = join(root, "secrets", "bucket-creds");
  mkdirSync(creds, { recursive: true });
  writeFileSync(join(creds, "aws_access_key_id"), "AKFILE");
  writeFileSync(join(creds, "aws_secret_access_key"), M.fileSecret);
  sidecar = await startSidecar({
    INFERENCE_ENGINE: "vllm",
    INFERENCE_ENGINE_ENDPOINT: engine.url,
    AIRUNTIME_STATE_DIR: join(root, "state"),
    AIRUNTIME_ADAPTERS_DIR: join(root, "adapters"),
    AIRUNTIME_CREDENTIALS_DIR: join(root, "secrets"),
    DOWNLOADER_LOCAL_DIR: join(root, "models"),
    AWS_ENDPOINT_URL: s3.url,
    AWS_ACCESS_KEY_ID: "AKENV",
    AWS_SECRET_ACCESS_KEY: M.envAwsSecret,
    HF_TOKEN: M.envHf,
    HF_ENDPOINT: hubUrl,
    TOS_ACCESS_KEY: "TOSAK",
    TOS_SECRET_KEY: M.envTos,
    AIRUNTIME_API_KEY: M.apiKey,
    LOG_LEVEL: "debug",
  });
});

afterAll(async () => {
  await sidecar?.stop("SIGKILL");
  await engine?.stop();
  await s3?.stop();
  hub?.closeAllConnections();
  hub?.close();
});

test("no planted secret appears in logs, bodies, metrics or files", async () => {
  const auth = { authorization: `Bearer ${M.apiKey}` };
  const record = async (path: string, body?: unknown, headers: Record<string, string> = auth) => {
    const r = await call(sidecar.url, path, body, headers);
    bodies.push(`${path} ${r.status} ${r.text}`);
    return r;
  };
  // A good load with request credentials and the engine key in additional_config.
  const good = await record("/v1/lora_adapter/load", {
    lora_name: "sec-lora",
    artifact_url: "s3://adapters/sec-lora/",
    credentials: {
      aws_access_key_id: "AKGOOD",
      aws_secret_access_key: M.reqAwsSecret,
      aws_endpoint_url: s3.url,
    },
    additional_config: { "api-key": M.engineKey },
  });
  expect(good.status).toBe(200);
  // Wrong secret (signature mismatch), secret file credentials, and an HF token for an unreachable hub.
  await record("/v1/lora_adapter/load", {
    lora_name: "bad-creds",
    artifact_url: "s3://adapters/sec-lora/",
    credentials: {
      aws_access_key_id: "AKBAD",
      aws_secret_access_key: `${M.reqAwsSecret}-wrong`,
      aws_endpoint_url: s3.url,
    },
  });
  await record("/v1/lora_adapter/load", {
    lora_name: "file-creds",
    artifact_url: "s3://adapters/sec-lora/",
    credentials_secret: "bucket-creds",
  });
  await record("/v1/lora_adapter/load", {
    lora_name: "hf-creds",
    artifact_url: "hf://org/adapter",
    credentials: { huggingface_token: M.reqHfToken },
  });
  // The engine rejects a bearer that is not its key: the failure must not echo the header.
  await record(
    "/v1/lora_adapter/load",
    { lora_name: "x1", lora_path: "/nonexistent" },
    { "x-airuntime-key": M.apiKey, authorization: `Bearer ${M.engineKey}-nope` },
  );
  // Model download with secrets in download_extra_config, failing and succeeding paths.
  await record("/v1/model/download", {
    model_uri: "s3://adapters/sec-lora/",
    model_name: "sec-model",
    download_extra_config: { ak: "AKGOOD", sk: M.reqAwsSecret, endpoint: s3.url },
  });
  await record("/v1/model/download", {
    model_uri: "s3://adapters/sec-lora/",
    model_name: "sec-model-bad",
    download_extra_config: { ak: "AKBAD", sk: M.extraSk, endpoint: s3.url },
  });
  await record("/v1/model/download", {
    model_uri: "hf://org/model",
    model_name: "sec-hf",
    download_extra_config: { hf_token: M.extraHf, hf_endpoint: hubUrl },
  });
  await waitUntil(async () => {
    const r = await call(sidecar.url, "/v1/model/status?model_name=sec-model", undefined, auth);
    return r.status === 200 && /downloaded|failed/.test(r.text);
  }, 15_000);
  // Refused in the answer (the source is listed first: 403/503) or failed later: either ends it.
  for (const name of ["sec-model-bad", "sec-hf"])
    await waitUntil(async () => {
      const r = await call(sidecar.url, `/v1/model/status?model_name=${name}`, undefined, auth);
      return r.status === 404 || /failed|not_exist/.test(r.text);
    }, 15_000);
  await record(`/v1/model/status?model_name=sec-model-bad`);
  await record("/v1/lora_adapter");
  await record("/v1/model/list");
  await record("/v1/lora_adapter/unload", { lora_name: "sec-lora", cleanup_local: false });
  const metrics = await call(sidecar.url, "/metrics");
  bodies.push(metrics.text);

  const files = walk(root).filter((f) => !f.includes(`${join(root, "secrets")}`));
  const haystacks: Array<[string, string]> = [
    ["sidecar output", sidecar.output()],
    ["response bodies", bodies.join("\n")],
    ...files.map((f) => [`file ${f}`, readFileSync(f, "latin1")] as [string, string]),
  ];
  expect(files.some((f) => f.includes("state"))).toBe(true); // the registry on disk was written and searched
  for (const [where, text] of haystacks)
    for (const [label, marker] of Object.entries(M))
      expect(`${where} contains ${label}: ${text.includes(marker)}`).toBe(
        `${where} contains ${label}: false`,
      );
}, 60_000);
