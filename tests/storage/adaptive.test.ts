// Adaptive connection count against a fake S3 whose every response is throttled (as object stores cap each
// connection): the transfer starts with 2 connections and doubles while that raises throughput, so the
// server sees more than 4 responses at once; with the start equal to the maximum it never goes past it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { downloadModel, type TransferTuning } from "../../storage/download.ts";
import { type FakeS3, startFakeS3 } from "../fakes/s3.ts";
import { MiB, randomPayload, removeTempDirs, settings, sha256, sha256File, tempDir } from "./helpers.ts";

const AK = "AKIDADAPT";
const SK = "adapt-secret-key";
let s3: FakeS3;
const payload = randomPayload(24 * MiB);

beforeAll(async () => {
  s3 = startFakeS3({ credentials: [{ accessKeyId: AK, secretAccessKey: SK }] });
  // Per response, i.e. per connection; slow enough that the download outlasts several tuner windows even
  // when a loaded machine makes the first ramp windows noisy.
  s3.throttle.bytesPerSec = 3e6;
  await s3.put("bkt", "m/weights.bin", payload);
});
afterAll(async () => {
  await s3.stop();
  await removeTempDirs();
});

const run = async (tuning: Partial<TransferTuning>) => {
  const local = await tempDir("adaptive");
  s3.resetStats();
  const r = await downloadModel({
    uri: "s3://bkt/m",
    localDir: local,
    settings: settings({ AWS_ENDPOINT_URL: s3.url, AWS_ACCESS_KEY_ID: AK, AWS_SECRET_ACCESS_KEY: SK }),
    tuning: { partSize: 1 * MiB, tuneWindowMs: 100, fsync: false, ...tuning },
  });
  expect(await sha256File(join(r.path, "weights.bin"))).toBe(sha256(payload));
  return s3.stats("bkt", "m/weights.bin");
};

test("per-connection capped source: connections grow from the start toward the maximum", async () => {
  const stats = await run({ connections: 8, startConnections: 2 });
  expect(stats.peakActive).toBeGreaterThan(4); // 2 -> 4 -> 8
  expect(stats.peakActive).toBeLessThanOrEqual(8);
}, 30_000);

test("start equal to the maximum: a fixed count", async () => {
  const stats = await run({ connections: 3, startConnections: 3 });
  expect(stats.peakActive).toBe(3);
}, 30_000);
