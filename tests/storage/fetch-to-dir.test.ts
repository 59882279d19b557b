// FetchToDir end to end against the in-process fakes, s3rver, a plain HTTP server and a local directory.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeFetchToDir } from "../../storage/download.ts";
import { startFakeHfHub, type FakeHfHub } from "../fakes/hf-hub.ts";
import { startFakeS3, type FakeS3 } from "../fakes/s3.ts";
import { MiB, randomPayload, settings, sha256, sha256File, tempDir, removeTempDirs } from "./helpers.ts";

let s3: FakeS3;
let hub: FakeHfHub;
const files = {
  "config.json": new TextEncoder().encode('{"a":1}'),
  "weights/model.safetensors": randomPayload(3 * MiB + 17),
  "tokenizer.json": randomPayload(200 * 1024),
};

beforeAll(async () => {
  s3 = startFakeS3({ credentials: [{ accessKeyId: "AKIDTEST", secretAccessKey: "secret-test-key" }] });
  for (const [k, v] of Object.entries(files)) await s3.put("bkt", `adapters/a1/${k}`, v);
  hub = await startFakeHfHub({ token: "hf_test_token_123", pageSize: 2 });
  await hub.addRepo(
    "org/lora",
    Object.entries(files).map(([path, body]) => ({ path, body })),
  );
});
afterAll(async () => {
  await s3.stop();
  await hub.stop();
});

async function expectSame(dir: string) {
  for (const [k, v] of Object.entries(files)) expect(await sha256File(join(dir, k))).toBe(sha256(v));
}

const tuning = { connections: 4, partSize: 1 * MiB, stallMs: 2000 };

describe("fetchToDir", () => {
  test("s3 (SigV4, path-style) publishes a verified directory", async () => {
    const root = await tempDir("s3");
    const fetchToDir = makeFetchToDir({ settings: settings({ AWS_ENDPOINT_URL: s3.url }), tuning });
    const dest = join(root, "a1");
    const r = await fetchToDir({
      uri: "s3://bkt/adapters/a1",
      dest,
      credentials: {
        aws_access_key_id: "AKIDTEST",
        aws_secret_access_key: "secret-test-key",
        aws_region: "us-east-1",
      },
      signal: AbortSignal.timeout(20_000),
    });
    expect(r.path).toBe(dest);
    expect(r.files).toBe(3);
    await expectSame(dest);
    expect((await readdir(root)).filter((n) => !n.startsWith("."))).toEqual(["a1"]);
    expect((await readdir(root)).some((n) => n.includes("partial"))).toBe(false);
  });

  test("hf (fake hub, token only to the hub host)", async () => {
    const root = await tempDir("hf");
    const fetchToDir = makeFetchToDir({ settings: settings({ HF_ENDPOINT: hub.url }), tuning });
    const dest = join(root, "lora");
    await fetchToDir({
      uri: "hf://org/lora",
      dest,
      credentials: { huggingface_token: "hf_test_token_123" },
      signal: AbortSignal.timeout(20_000),
    });
    await expectSame(dest);
    expect(hub.tokenLeaks).toBe(0);
  });

  test("local directory is copied", async () => {
    const src = await tempDir("src");
    for (const [k, v] of Object.entries(files)) {
      await mkdir(join(src, k, ".."), { recursive: true });
      await writeFile(join(src, k), v);
    }
    const root = await tempDir("local");
    const dest = join(root, "copy");
    await makeFetchToDir({ settings: settings({}), tuning })({
      uri: src,
      dest,
      signal: AbortSignal.timeout(20_000),
    });
    await expectSame(dest);
  });

  test("local directory used in place when asked", async () => {
    const src = await tempDir("inplace");
    await writeFile(join(src, "adapter_config.json"), "{}");
    const root = await tempDir("inplace-dst");
    const r = await makeFetchToDir({ settings: settings({}), tuning })({
      uri: `file://${src}`,
      dest: join(root, "x"),
      local: "in-place",
      signal: AbortSignal.timeout(5000),
    });
    expect(r).toEqual({ path: src, files: 1, bytes: 2 });
    expect(await readdir(root)).toEqual([]);
  });

  test("concurrent calls for one dest share one transfer", async () => {
    const root = await tempDir("concurrent");
    const fetchToDir = makeFetchToDir({ settings: settings({ AWS_ENDPOINT_URL: s3.url }), tuning });
    const creds = { aws_access_key_id: "AKIDTEST", aws_secret_access_key: "secret-test-key" };
    const dest = join(root, "a1");
    const before = s3.totalBytes();
    const rs = await Promise.all(
      [1, 2, 3].map(() =>
        fetchToDir({
          uri: "s3://bkt/adapters/a1",
          dest,
          credentials: creds,
          signal: AbortSignal.timeout(20_000),
        }),
      ),
    );
    expect(rs.map((r) => r.path)).toEqual([dest, dest, dest]);
    const total = Object.values(files).reduce((a, b) => a + b.length, 0);
    expect(s3.totalBytes() - before).toBe(total);
    await expectSame(dest);
    expect((await readdir(root)).sort()).toEqual(["a1"]);
  });

  test("a second call reuses the published directory", async () => {
    const root = await tempDir("reuse");
    const fetchToDir = makeFetchToDir({ settings: settings({ AWS_ENDPOINT_URL: s3.url }), tuning });
    const creds = { aws_access_key_id: "AKIDTEST", aws_secret_access_key: "secret-test-key" };
    const dest = join(root, "a1");
    await fetchToDir({
      uri: "s3://bkt/adapters/a1/",
      dest,
      credentials: creds,
      signal: AbortSignal.timeout(20_000),
    });
    const before = s3.totalBytes();
    const mtime = (await stat(join(dest, "config.json"))).mtimeMs;
    await fetchToDir({
      uri: "s3://bkt/adapters/a1/",
      dest,
      credentials: creds,
      signal: AbortSignal.timeout(20_000),
    });
    expect(s3.totalBytes()).toBe(before);
    expect((await stat(join(dest, "config.json"))).mtimeMs).toBe(mtime);
    expect(JSON.parse(await readFile(join(dest, "config.json"), "utf8"))).toEqual({ a: 1 });
  });
});

afterAll(() => removeTempDirs());
