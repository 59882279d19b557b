// Downloaded bytes are checked against the digest the source publishes, whichever it is: an S3 object whose
// bytes do not match its plain (MD5) ETag and a small hub file (git blob SHA-1, not LFS) whose bytes do not
// match its listed oid both fail with `verification`, leaving nothing visible. (SHA-256: faults.test.ts.)
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { downloadModel } from "../../storage/download.ts";
import { DownloadError } from "../../storage/errors.ts";
import { type FakeHfHub, startFakeHfHub } from "../fakes/hf-hub.ts";
import { type FakeS3, startFakeS3 } from "../fakes/s3.ts";
import { MiB, randomPayload, removeTempDirs, settings, tempDir } from "./helpers.ts";

const AK = "AKIDVERIFY";
const SK = "verify-secret-key";
let s3: FakeS3;
let hub: FakeHfHub;
const tuning = { connections: 2, partSize: 1 * MiB, stallMs: 3000, maxRetries: 2, hedgeAfterMs: 60_000 };

beforeAll(async () => {
  s3 = startFakeS3({ credentials: [{ accessKeyId: AK, secretAccessKey: SK }] });
  hub = await startFakeHfHub();
});
afterAll(async () => {
  await s3.stop();
  await hub.stop();
  await removeTempDirs();
});

async function visible(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [] as string[]))
    .filter((n) => !n.startsWith(".cache"))
    .sort();
}

async function failure(p: Promise<unknown>): Promise<DownloadError> {
  const e = await p.then(
    () => null,
    (x) => x,
  );
  expect(e).toBeInstanceOf(DownloadError);
  return e as DownloadError;
}

test("S3: bytes that do not match the object's MD5 ETag fail verification; nothing visible", async () => {
  const served = randomPayload(200_000);
  const published = createHash("md5").update(randomPayload(200_000)).digest("hex");
  await s3.put("bkt", "md5/model.bin", served, { etag: `"${published}"` });
  const local = await tempDir("md5");
  const err = await failure(
    downloadModel({
      uri: "s3://bkt/md5",
      localDir: local,
      settings: settings({ AWS_ENDPOINT_URL: s3.url, AWS_ACCESS_KEY_ID: AK, AWS_SECRET_ACCESS_KEY: SK }),
      tuning,
    }),
  );
  expect(err.reason).toBe("verification");
  expect(err.message).toMatch(/md5/i);
  expect(await visible(join(local, "md5"))).toEqual([]);
});

test("HF: a small (git blob SHA-1) file whose bytes changed fails verification; nothing visible", async () => {
  const body = new TextEncoder().encode('{"model_type":"llama","hidden_size":4096}');
  await hub.addRepo("org/sha1", [{ path: "config.json", body, lfs: false }]);
  hub.fault("org/sha1", "config.json", {});
  body[3] = body[3]! ^ 0x01; // the hub serves the changed buffer; its tree keeps the original git SHA-1
  const local = await tempDir("sha1");
  const err = await failure(
    downloadModel({ uri: "org/sha1", localDir: local, settings: settings({ HF_ENDPOINT: hub.url }), tuning }),
  );
  expect(err.reason).toBe("verification");
  expect(err.message).toMatch(/sha-?1/i);
  expect(await visible(join(local, "org/sha1"))).toEqual([]);
});
