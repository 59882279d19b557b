// Against s3rver (a real third-party S3 implementation, run in process): a multi-file model arrives
// byte-exact, with MD5 (plain ETag) verification and SigV4 with s3rver's default keys.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
// @ts-expect-error s3rver ships no types
import S3rver from "s3rver";
import { downloadModel } from "../../storage/download.ts";
import { MiB, randomFile, settings, sha256File, tempDir } from "./helpers.ts";

let server: { run(): Promise<{ port: number }>; close(): Promise<void> };
let endpoint = "";
const BIG = Number(process.env.AIRUNTIME_BIG_TESTS) ? 256 * MiB + 5 : 24 * MiB + 5;
const names = ["config.json", "tokenizer.json", "model-00001.safetensors", "sub/dir/extra.bin"];
const sums: Record<string, string> = {};

beforeAll(async () => {
  const dir = await tempDir("s3rver");
  server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: join(dir, "data"),
    configureBuckets: [{ name: "models" }],
  });
  const addr = await server.run();
  endpoint = `http://127.0.0.1:${addr.port}`;
  const aws = new AwsClient({
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    service: "s3",
    region: "us-east-1",
  });
  for (const [i, n] of names.entries()) {
    const p = join(dir, `src-${i}`);
    await randomFile(p, n.endsWith(".safetensors") ? BIG : 1000 + i * 333_333);
    sums[n] = await sha256File(p);
    const res = await aws.fetch(`${endpoint}/models/llm/m1/${n}`, { method: "PUT", body: await readFile(p) });
    expect(res.status).toBe(200);
  }
});
afterAll(() => server.close());

test("s3rver: a model of several files arrives byte-exact", async () => {
  const local = await tempDir("s3rver-dst");
  const r = await downloadModel({
    uri: "s3://models/llm/m1",
    localDir: local,
    settings: settings({
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
    }),
    tuning: { connections: 8, partSize: 4 * MiB },
  });
  expect(r.modelName).toBe("m1");
  expect(r.files).toBe(names.length);
  for (const n of names) expect(await sha256File(join(local, "m1", n))).toBe(sums[n]!);
}, 60_000);
