// Issue 18 "never lose a failure", against the compiled binary: a download onto a target that cannot be
// written is refused before it is accepted (500 local_io naming the path) and /v1/model/status still tells
// it; a download interrupted by a shutdown reads `interrupted` (not `failed: cancelled`) and resumes when the
// sidecar starts again, fetching only what was missing.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type FakeS3, startFakeS3 } from "../fakes/s3.ts";
import { startSidecar, waitUntil } from "../helpers/sidecar.ts";
import { MiB, randomPayload, removeTempDirs, sha256, sha256File, tempDir } from "./helpers.ts";

const AK = "AKIDNEVERLOSE";
const SK = "never-lose-secret-1";
let s3: FakeS3;
const big = randomPayload(24 * MiB);

beforeAll(async () => {
  s3 = startFakeS3({ credentials: [{ accessKeyId: AK, secretAccessKey: SK }] });
  await s3.put("bkt", "m/model.bin", big);
  await s3.put("bkt", "m/config.json", randomPayload(100));
});
afterAll(async () => {
  await s3.stop();
  await removeTempDirs();
});

const baseEnv = (local: string, extra: Record<string, string> = {}) => ({
  AWS_ENDPOINT_URL: s3.url,
  AWS_ACCESS_KEY_ID: AK,
  AWS_SECRET_ACCESS_KEY: SK,
  DOWNLOADER_LOCAL_DIR: local,
  DOWNLOADER_PART_CHUNKSIZE: "1MiB",
  DOWNLOADER_NUM_THREADS: "2",
  ...extra,
});

async function post(url: string, body: unknown) {
  const r = await fetch(`${url}/v1/model/download`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as Record<string, any> };
}
const status = async (url: string, name: string) => {
  const r = await fetch(`${url}/v1/model/status?model_name=${encodeURIComponent(name)}`);
  return { status: r.status, json: (await r.json()) as Record<string, any> };
};

test("a target below a regular file: refused at once (500 local_io naming the path); status tells it", async () => {
  const root = await tempDir("never-lose-file");
  const plain = join(root, "plain");
  await writeFile(plain, "a file where a directory must go");
  const side = await startSidecar(baseEnv(root));
  try {
    const r = await post(side.url, { model_uri: "s3://bkt/m/", model_name: "plain/m" });
    expect(r.status).toBe(500);
    expect(r.json.message).toContain(plain);
    expect(r.json.message).toMatch(/uid \d+/);
    const s = await status(side.url, "plain/m");
    expect(s.status).toBe(200);
    expect(s.json.model_status).toBe("failed");
    expect(s.json.error.reason).toBe("local_io");
    expect(s.json.error.message).toContain(plain);
  } finally {
    await side.stop();
  }
});

test("a shutdown mid-download: status `interrupted`, resumed when the sidecar starts again", async () => {
  const local = await tempDir("never-lose-resume");
  s3.throttle.bytesPerSec = 2 * MiB; // slow enough to stop it half way, even when a loaded machine is slow to stop
  s3.resetStats();
  const env = baseEnv(local);
  const first = await startSidecar(env);
  try {
    expect((await post(first.url, { model_uri: "s3://bkt/m/", model_name: "m" })).status).toBe(200);
    await waitUntil(async () => {
      const p = (await status(first.url, "m")).json.progress;
      return p && p.bytes_done > 4 * MiB;
    });
  } finally {
    await first.stop("SIGTERM");
  }
  s3.throttle.bytesPerSec = 0;
  const before = s3.totalBytes();
  expect(before).toBeLessThan(big.length);
  const second = await startSidecar(env);
  try {
    await waitUntil(async () => (await status(second.url, "m")).json.model_status === "downloaded", 30_000);
    expect(await sha256File(join(local, "m", "model.bin"))).toBe(sha256(big));
    // Resumed: what the first run fetched was not fetched again. At most the two parts in flight at the
    // stop (DOWNLOADER_NUM_THREADS=2, 1 MiB parts: sent whole by the server into socket buffers, never
    // journalled) are fetched twice.
    expect(s3.totalBytes()).toBeLessThanOrEqual(big.length + 100 + 2 * MiB);
    expect(second.logs().some((l) => l.msg === "resuming interrupted download")).toBe(true);
  } finally {
    await second.stop();
  }
}, 60_000);

test("status reads `interrupted` with how it resumes, while no sidecar resumes it", async () => {
  const local = await tempDir("never-lose-status");
  s3.throttle.bytesPerSec = 6 * MiB;
  const first = await startSidecar(baseEnv(local));
  try {
    // Request credentials are never stored: this one can only resume on the next POST.
    const body = {
      model_uri: "s3://bkt/m/",
      model_name: "m",
      download_extra_config: { ak: AK, sk: SK, endpoint: s3.url },
    };
    expect((await post(first.url, body)).status).toBe(200);
    await waitUntil(async () => (await status(first.url, "m")).json.progress?.bytes_done > 2 * MiB);
  } finally {
    await first.stop("SIGTERM");
  }
  s3.throttle.bytesPerSec = 0;
  const second = await startSidecar(baseEnv(local));
  try {
    const s = await status(second.url, "m");
    expect(s.json.model_status).toBe("interrupted");
    expect(s.json.error.reason).toBe("interrupted");
    expect(s.json.error.message).toContain("resumes on the next POST /v1/model/download");
    expect(JSON.stringify(s.json)).not.toContain(SK);
  } finally {
    await second.stop();
  }
}, 60_000);
