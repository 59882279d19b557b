// A model of several files, one of them 256 MiB + 5 bytes, arrives byte-exact (SHA-256 checked here) from
// s3rver, from our fake S3 while it injects faults, and from our fake HF hub
// (about 13 s for the three sources on this machine).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
// @ts-expect-error s3rver ships no types
import S3rver from "s3rver";
import { downloadModel } from "../../storage/download.ts";
import { type FakeHfHub, startFakeHfHub } from "../fakes/hf-hub.ts";
import { type FakeS3, startFakeS3 } from "../fakes/s3.ts";
import { MiB, randomFile, removeTempDirs, settings, sha256File, tempDir } from "./helpers.ts";

const BIG = 256 * MiB + 5;
const files: Record<string, number> = {
  "config.json": 700,
  "tokenizer.json": 2 * MiB + 1,
  "model-00001-of-00002.safetensors": BIG,
  "model-00002-of-00002.safetensors": 3 * MiB,
};
const sums: Record<string, string> = {};
const paths: Record<string, string> = {};
let s3: FakeS3;
let hub: FakeHfHub;
let rver: { run(): Promise<{ port: number }>; close(): Promise<void> };
let rverUrl = "";
const tuning = { connections: 8, partSize: 4 * MiB, stallMs: 1500, maxRetries: 8 };

beforeAll(async () => {
  const src = await tempDir("exact-src");
  for (const [n, size] of Object.entries(files)) {
    paths[n] = join(src, n);
    await randomFile(paths[n]!, size);
    sums[n] = await sha256File(paths[n]!);
  }
  s3 = startFakeS3({ credentials: [{ accessKeyId: "AKEXACT", secretAccessKey: "exact-secret" }] });
  for (const [n, size] of Object.entries(files))
    await s3.put("models", `llama/${n}`, { path: paths[n]!, size });
  hub = await startFakeHfHub({ token: "hf_exact_token" });
  await hub.addRepo(
    "org/llama",
    Object.entries(files).map(([n, size]) => ({ path: n, body: { path: paths[n]!, size } })),
  );
  rver = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: join(src, "s3rver"),
    configureBuckets: [{ name: "models" }],
  });
  rverUrl = `http://127.0.0.1:${(await rver.run()).port}`;
  const aws = new AwsClient({
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    service: "s3",
    region: "us-east-1",
  });
  for (const n of Object.keys(files)) {
    const res = await aws.fetch(`${rverUrl}/models/llama/${n}`, {
      method: "PUT",
      body: await readFile(paths[n]!),
    });
    expect(res.status).toBe(200);
  }
}, 120_000);
afterAll(async () => {
  await s3.stop();
  await hub.stop();
  await rver.close();
  await removeTempDirs();
});

async function expectExact(dir: string) {
  for (const n of Object.keys(files)) expect(await sha256File(join(dir, n))).toBe(sums[n]!);
}

test("s3rver", async () => {
  const r = await downloadModel({
    uri: "s3://models/llama",
    localDir: await tempDir("exact-rver"),
    settings: settings({
      AWS_ENDPOINT_URL: rverUrl,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
    }),
    tuning,
  });
  await expectExact(r.path);
}, 120_000);

test("fake S3 injecting resets, a stall and a 503 burst", async () => {
  const big = "llama/model-00001-of-00002.safetensors";
  s3.fault("models", big, {
    reset: { bytes: 3 * MiB, times: 3 },
    stall: { bytes: MiB, times: 1 },
    status: { code: 503, times: 4 },
  });
  const r = await downloadModel({
    uri: "s3://models/llama",
    localDir: await tempDir("exact-fake"),
    settings: settings({
      AWS_ENDPOINT_URL: s3.url,
      AWS_ACCESS_KEY_ID: "AKEXACT",
      AWS_SECRET_ACCESS_KEY: "exact-secret",
    }),
    tuning,
  });
  await expectExact(r.path);
}, 120_000);

test("fake HF hub (LFS through the CDN redirect, SHA-256 and git SHA-1 verified)", async () => {
  const r = await downloadModel({
    uri: "hf://org/llama",
    localDir: await tempDir("exact-hf"),
    settings: settings({ HF_ENDPOINT: hub.url, HF_TOKEN: "hf_exact_token" }),
    tuning,
  });
  await expectExact(r.path);
  expect(hub.tokenLeaks).toBe(0);
}, 120_000);
