// Replays the AIBrix ModelAdapter controller against the sidecar (in process, app.request) and the mock engine, exactly as
// it calls the sidecar (reference/AIBRIX-RUNTIME.md §1.4, §1.5, §5.1): GET /v1/models, then
// POST /v1/lora_adapter/load with the delegation body and an Authorization header, then
// POST /v1/lora_adapter/unload {"lora_name", "cleanup_local": true}. Sources: an s3rver bucket, a fake
// HF hub, an absolute local path. The mock engine needs the forwarded bearer (started with --api-key) and
// only accepts a directory holding adapter_config.json, so it proves a complete adapter was handed over.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
// @ts-expect-error s3rver ships no type declarations
import S3rver from "s3rver";
import { startMockEngine } from "../mock/index.ts";
import { startFakeHfHub } from "./fakes/hf-hub.ts";
import { adapterFiles, call, mockStats, writeAdapterDir } from "./helpers/lora.ts";
import { type InProcessSidecar, startInProcess } from "./helpers/inproc.ts";

const API_KEY = "sk-engine-key-123";
const AUTH = { authorization: `Bearer ${API_KEY}` };
const HF_TOKEN = "hf_lora_test_token";

let tmp: string;
let s3: { url: string; close(): Promise<void> };
let hub: Awaited<ReturnType<typeof startFakeHfHub>>;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "lora-ctl-"));
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: join(tmp, "s3rver"),
    configureBuckets: [{ name: "adapters", configs: [] }],
  });
  const info = await server.run();
  s3 = { url: `http://127.0.0.1:${info.port}`, close: () => server.close() };
  const aws = new AwsClient({
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    region: "us-east-1",
    service: "s3",
  });
  for (const name of ["s3-vllm", "s3-sglang"])
    for (const [f, bytes] of Object.entries(adapterFiles(name))) {
      const r = await aws.fetch(`${s3.url}/adapters/loras/${name}/${f}`, { method: "PUT", body: bytes });
      expect(r.status).toBe(200);
    }
  hub = await startFakeHfHub({ token: HF_TOKEN });
  for (const name of ["hf-vllm", "hf-sglang"])
    await hub.addRepo(
      `org/${name}`,
      Object.entries(adapterFiles(name)).map(([path, body]) => ({ path, body })),
    );
});

afterAll(async () => {
  await s3?.close();
  await hub?.stop();
  await rm(tmp, { recursive: true, force: true });
});

async function sameFiles(dir: string, name: string) {
  const want = adapterFiles(name);
  const got = (await readdir(dir)).filter((f) => !f.startsWith("."));
  expect(got.sort()).toEqual(Object.keys(want).sort());
  for (const [f, bytes] of Object.entries(want))
    expect(Buffer.compare(await readFile(join(dir, f)), bytes)).toBe(0);
}

for (const engine of ["vllm", "sglang"] as const) {
  describe(`AIBrix controller replay against the ${engine} mock`, () => {
    let mock: Awaited<ReturnType<typeof startMockEngine>>;
    let side: InProcessSidecar;
    let adapters: string;

    beforeAll(async () => {
      mock = await startMockEngine({ engine, port: 0, apiKey: API_KEY, model: "base-model" });
      adapters = join(tmp, `${engine}-adapters`);
      side = await startInProcess({
        INFERENCE_ENGINE: engine,
        INFERENCE_ENGINE_ENDPOINT: mock.url,
        AIRUNTIME_ADAPTERS_DIR: adapters,
        AIRUNTIME_STATE_DIR: join(tmp, `${engine}-state`),
        AWS_ENDPOINT_URL: s3.url,
        HF_ENDPOINT: hub.url,
      });
    });
    afterAll(async () => {
      await side?.stop();
      await mock?.stop();
    });

    async function replay(
      name: string,
      artifactUrl: string,
      credentials: Record<string, string> | undefined,
    ) {
      // 1. The controller lists models first: the adapter is not there yet.
      const models = await call(side.app, "/v1/models", undefined, AUTH);
      expect(models.status).toBe(200);
      expect(models.json.data.map((m: { id: string }) => m.id)).not.toContain(name);

      // 2. Load with the delegation body, the way lora_client.go builds it.
      const body: Record<string, unknown> = {
        lora_name: name,
        artifact_url: artifactUrl,
        ...(credentials ? { credentials } : {}),
        additional_config: { "api-key": API_KEY },
      };
      const load = await call(side.app, "/v1/lora_adapter/load", body, AUTH);
      expect(load.status).toBe(200);
      const localPath = load.json.local_path as string;
      expect(load.json).toEqual({
        status: "success",
        message: `Successfully loaded adapter ${name} from ${artifactUrl}`,
        local_path: localPath,
        engine_response: {
          message: `Success: LoRA adapter '${name}' loaded successfully from '${localPath}'.`,
        },
      });
      // The engine got a complete directory (the mock checks adapter_config.json) at that path.
      const stats = await mockStats(mock.url);
      expect(stats.adapters[name]).toBe(localPath);
      expect(stats.calls[name]).toEqual({ load: 1, unload: 0 });
      await sameFiles(localPath, name.startsWith("local") ? "local" : name);

      // 3. Unload as the controller does on deletion.
      const unload = await call(
        side.app,
        "/v1/lora_adapter/unload",
        { lora_name: name, cleanup_local: true },
        AUTH,
      );
      expect(unload.status).toBe(200);
      expect(unload.json).toEqual({ status: "success", message: `Successfully unloaded adapter ${name}` });
      const after = await mockStats(mock.url);
      expect(after.adapters[name]).toBeUndefined();
      expect(after.calls[name]).toEqual({ load: 1, unload: 1 });
      return localPath;
    }

    test("s3:// from an s3rver bucket with the controller's credentials", async () => {
      const name = `s3-${engine}`;
      const path = await replay(name, `s3://adapters/loras/${name}/`, {
        aws_access_key_id: "S3RVER",
        aws_secret_access_key: "S3RVER",
        aws_region: "us-east-1",
      });
      expect(path).toBe(join(adapters, name));
      // cleanup_local removed what the sidecar downloaded.
      expect(await stat(path).catch(() => null)).toBeNull();
    });

    test("hf:// from the fake hub with huggingface_token", async () => {
      const name = `hf-${engine}`;
      const path = await replay(name, `hf://org/${name}`, { huggingface_token: HF_TOKEN });
      expect(path.startsWith(join(adapters, name))).toBe(true);
      expect(await stat(join(adapters, name)).catch(() => null)).toBeNull();
      expect(hub.tokenLeaks).toBe(0);
    });

    test("an absolute local path is used in place and never deleted", async () => {
      const dir = await writeAdapterDir(join(tmp, `local-${engine}`), "local");
      const name = `local-${engine}`;
      const path = await replay(name, dir, undefined);
      expect(path).toBe(dir);
      await sameFiles(dir, "local");
      expect((await readdir(adapters).catch(() => [])).filter((f) => f.includes(name))).toEqual([]);
    });
  });
}
