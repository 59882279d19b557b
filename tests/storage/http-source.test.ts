// Plain HTTP(S) single files: ranged parallel download when the server honours Range, one restartable
// stream when it does not; both verified by size and checked byte-exact here.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { downloadModel } from "../../storage/download.ts";
import { type FakeS3, startFakeS3 } from "../fakes/s3.ts";
import { MiB, randomPayload, removeTempDirs, settings, sha256, sha256File, tempDir } from "./helpers.ts";

let web: FakeS3;
const body = randomPayload(5 * MiB + 11);
const tuning = { connections: 4, partSize: MiB, stallMs: 1000 };

beforeAll(async () => {
  web = startFakeS3({ anonymous: true }); // plain HTTP server: GET /<bucket>/<key> with Range
  await web.put("files", "models/tiny.gguf", body);
  await web.put("files", "models/norange.gguf", body);
  web.fault("files", "models/norange.gguf", { ignoreRange: true, reset: { bytes: 2 * MiB, times: 2 } });
});
afterAll(async () => {
  await web.stop();
  await removeTempDirs();
});

test("ranges: parts in parallel", async () => {
  const r = await downloadModel({
    uri: `${web.url}/files/models/tiny.gguf`,
    localDir: await tempDir("http"),
    settings: settings({}),
    tuning,
  });
  expect(r.modelName).toBe("tiny");
  expect(await sha256File(join(r.path, "tiny.gguf"))).toBe(sha256(body));
  expect(web.stats("files", "models/tiny.gguf").ranged).toBeGreaterThanOrEqual(5);
});

test("no range support: one stream, restarted from byte 0 after a reset", async () => {
  const r = await downloadModel({
    uri: `${web.url}/files/models/norange.gguf`,
    localDir: await tempDir("http-nr"),
    settings: settings({}),
    tuning,
  });
  expect(await sha256File(join(r.path, "norange.gguf"))).toBe(sha256(body));
  const s = web.stats("files", "models/norange.gguf");
  // the size probe and the first stream break at 2 MiB; the retry starts again from byte 0
  expect(s.requests).toBeGreaterThanOrEqual(3);
  expect(s.bytes).toBeGreaterThanOrEqual(2 * MiB + body.length);
});

test("404 over HTTP is not_found", async () => {
  let err: Error | undefined;
  await downloadModel({
    uri: `${web.url}/files/missing.bin`,
    localDir: await tempDir("http404"),
    settings: settings({}),
    tuning,
  }).catch((e) => (err = e));
  expect((err as { reason?: string })?.reason).toBe("not_found");
});
