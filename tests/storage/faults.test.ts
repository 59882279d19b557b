// The engine against injected faults: stalls, resets, 5xx bursts, 429 + Retry-After, an ETag change mid-
// download, 403/404, a corrupted hub file; each ends as specified with nothing partial visible.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { downloadModel } from "../../storage/download.ts";
import { DownloadError } from "../../storage/errors.ts";
import { modelStatus } from "../../storage/status.ts";
import { aibrixLayout } from "../../storage/layout.ts";
import { type FakeHfHub, startFakeHfHub } from "../fakes/hf-hub.ts";
import { type FakeS3, startFakeS3 } from "../fakes/s3.ts";
import { MiB, randomPayload, settings, sha256, sha256File, tempDir, removeTempDirs } from "./helpers.ts";

const AK = "AKIDFAULT";
const SK = "fault-secret-key";
let s3: FakeS3;
let hub: FakeHfHub;
const big = randomPayload(8 * MiB + 3);
const small = randomPayload(5000);
const tuning = { connections: 4, partSize: 1 * MiB, stallMs: 300, maxRetries: 5, hedgeAfterMs: 60_000 };

beforeAll(async () => {
  s3 = startFakeS3({ credentials: [{ accessKeyId: AK, secretAccessKey: SK }] });
  hub = await startFakeHfHub({ token: "hf_fault_token" });
});
afterAll(async () => {
  await s3.stop();
  await hub.stop();
});

const s3settings = () =>
  settings({ AWS_ENDPOINT_URL: s3.url, AWS_ACCESS_KEY_ID: AK, AWS_SECRET_ACCESS_KEY: SK });

async function model(name: string) {
  await s3.put("bkt", `${name}/model.bin`, big);
  await s3.put("bkt", `${name}/config.json`, small);
  return `s3://bkt/${name}`;
}

async function visible(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).filter((n) => !n.startsWith(".cache")).sort();
  } catch {
    return [];
  }
}

async function fetchOk(uri: string, local: string, extra: Partial<typeof tuning> = {}) {
  const r = await downloadModel({
    uri,
    localDir: local,
    settings: s3settings(),
    tuning: { ...tuning, ...extra },
  });
  expect(await sha256File(join(r.path, "model.bin"))).toBe(sha256(big));
  expect(await sha256File(join(r.path, "config.json"))).toBe(sha256(small));
  expect(await visible(r.path)).toEqual(["config.json", "model.bin"]);
  return r;
}

async function expectFail(p: Promise<unknown>, reason: string, text: RegExp): Promise<DownloadError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DownloadError);
  expect((err as DownloadError).reason).toBe(reason as DownloadError["reason"]);
  expect((err as DownloadError).message).toMatch(text);
  return err as DownloadError;
}

describe("faults", () => {
  test("a stalled request is abandoned and its part retried", async () => {
    const uri = await model("stall");
    s3.fault("bkt", "stall/model.bin", { stall: { bytes: 300_000, times: 2 } });
    await fetchOk(uri, await tempDir("stall"));
    // Each stall was abandoned and its part fetched again (9 parts + 2 retries at least).
    expect(s3.stats("bkt", "stall/model.bin").requests).toBeGreaterThanOrEqual(9 + 2);
  });

  test("connection resets are retried from the last written byte", async () => {
    const uri = await model("reset");
    s3.fault("bkt", "reset/model.bin", { reset: { bytes: 512 * 1024, times: 3 } });
    await fetchOk(uri, await tempDir("reset"));
    // 3 resets cost at most the unwritten tail of each attempt, never a whole restart of the file
    expect(s3.stats("bkt", "reset/model.bin").bytes).toBeLessThan(big.length + 3 * 1024 * 1024);
  });

  test("a burst of 503s is retried with backoff", async () => {
    const uri = await model("burst");
    s3.fault("bkt", "burst/model.bin", { status: { code: 503, times: 6 } });
    await fetchOk(uri, await tempDir("burst"));
  });

  test("too many failures give up with a network error and leave no visible file", async () => {
    const uri = await model("dead");
    s3.fault("bkt", "dead/model.bin", { status: { code: 500, times: 1000 } });
    const local = await tempDir("dead");
    await expectFail(
      downloadModel({ uri, localDir: local, settings: s3settings(), tuning: { ...tuning, maxRetries: 2 } }),
      "network",
      /HTTP 500.*gave up after 3 attempts/,
    );
    expect(await visible(join(local, "dead"))).not.toContain("model.bin");
    // network trouble is resumable: the partial file and its journal stay (staged) for the next run
    const staged = await readdir(aibrixLayout(join(local, "dead"), "s3").partialDir);
    expect(staged.filter((n) => n.endsWith(".part")).length).toBe(1);
    expect(staged.filter((n) => n.endsWith(".part.journal")).length).toBe(1);
    const st = await modelStatus(aibrixLayout(join(local, "dead"), "s3"));
    expect(st.status).toBe("failed");
    expect(st.record?.error?.reason).toBe("network");
  });

  test("an ETag change mid-download restarts that file cleanly", async () => {
    const uri = await model("change");
    const replacement = randomPayload(big.length);
    s3.fault("bkt", "change/model.bin", { change: { bytes: 3 * MiB, body: replacement } });
    const local = await tempDir("change");
    const r = await downloadModel({ uri, localDir: local, settings: s3settings(), tuning });
    expect(await sha256File(join(r.path, "model.bin"))).toBe(sha256(replacement));
    const meta = await readFile(join(r.path, ".cache/s3/download/model.bin.metadata"), "utf8");
    expect(meta).toContain((await import("node:crypto")).createHash("md5").update(replacement).digest("hex"));
  });

  test("403 fails at once with an auth error", async () => {
    const local = await tempDir("403");
    await expectFail(
      downloadModel({
        uri: await model("forbidden"),
        localDir: local,
        settings: settings({
          AWS_ENDPOINT_URL: s3.url,
          AWS_ACCESS_KEY_ID: "NOPE",
          AWS_SECRET_ACCESS_KEY: SK,
        }),
        tuning,
      }),
      "auth",
      /access denied \(HTTP 403\).*InvalidAccessKeyId/,
    );
    expect(await visible(join(local, "forbidden"))).toEqual([]);
  });

  test("a 404 on one object fails with not_found", async () => {
    const uri = await model("gone");
    s3.fault("bkt", "gone/model.bin", { status: { code: 404, times: 100 } });
    const local = await tempDir("404");
    await expectFail(
      downloadModel({ uri, localDir: local, settings: s3settings(), tuning }),
      "not_found",
      /gone\/model\.bin/,
    );
    expect(
      (await visible(join(local, "gone"))).filter((n) => !n.endsWith(".part") && !n.endsWith(".journal")),
    ).not.toContain("model.bin");
    expect((await visible(join(local, "gone"))).filter((n) => n.includes(".part"))).toEqual([]);
  });

  test("a slow tail part is hedged on a spare connection", async () => {
    const uri = await model("hedge");
    s3.fault("bkt", "hedge/model.bin", { stall: { bytes: 100_000, times: 1 } });
    const local = await tempDir("hedge");
    // The stall detector would wait 10 minutes: finishing within the test's timeout shows the hedge won.
    await fetchOk(uri, local, { stallMs: 600_000, hedgeAfterMs: 200 });
    expect(s3.stats("bkt", "hedge/model.bin").requests).toBeGreaterThan(9); // 9 parts of 1 MiB + the hedge
  });
});

describe("hugging face", () => {
  const weights = randomPayload(3 * MiB + 1);
  const cfg = new TextEncoder().encode('{"model_type":"llama"}');
  let commit = "";
  beforeAll(async () => {
    commit = await hub.addRepo("org/tiny", [
      { path: "config.json", body: cfg },
      { path: "model.safetensors", body: weights },
      { path: "nested/tokenizer.json", body: randomPayload(4096) },
    ]);
  });
  const hfSettings = (token = "hf_fault_token") => settings({ HF_ENDPOINT: hub.url, HF_TOKEN: token });

  test("429 with Retry-After is honoured; token never reaches the CDN", async () => {
    hub.fault("org/tiny", "model.safetensors", { status: { code: 429, times: 1, retryAfter: 1 } });
    const t0 = performance.now();
    const r = await downloadModel({
      uri: "org/tiny",
      localDir: await tempDir("hf"),
      settings: hfSettings(),
      tuning,
    });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950); // waited as Retry-After asked
    expect(r.source).toBe("huggingface");
    expect(await sha256File(join(r.path, "model.safetensors"))).toBe(sha256(weights));
    const meta = (
      await readFile(join(r.path, ".cache/huggingface/download/config.json.metadata"), "utf8")
    ).split("\n");
    expect(meta[0]).toBe(commit);
    expect(hub.tokenLeaks).toBe(0);
  });

  test("a 503 burst on the listing is retried", async () => {
    const flaky = startFakeS3({ credentials: [{ accessKeyId: AK, secretAccessKey: SK }] });
    try {
      await flaky.put("bkt", "m/config.json", small);
      // the bucket listing itself fails twice with 503 before it answers
      const real = settings({
        AWS_ENDPOINT_URL: flaky.url,
        AWS_ACCESS_KEY_ID: AK,
        AWS_SECRET_ACCESS_KEY: SK,
      });
      flaky.failListing({ code: 503, times: 2 });
      const r = await downloadModel({
        uri: "s3://bkt/m",
        localDir: await tempDir("listing"),
        settings: real,
        tuning,
      });
      expect(r.files).toBe(1);
      expect(flaky.counts.list).toBe(3);
    } finally {
      await flaky.stop();
    }
  });

  test("a wrong token is an auth failure naming HF_TOKEN", async () => {
    await expectFail(
      downloadModel({
        uri: "hf://org/tiny",
        localDir: await tempDir("hf401"),
        settings: hfSettings("hf_wrong_token"),
        tuning,
      }),
      "auth",
      /HF_TOKEN/,
    );
  });

  test("an unknown repo or revision is not_found", async () => {
    await expectFail(
      downloadModel({ uri: "org/missing", localDir: await tempDir("hf404"), settings: hfSettings(), tuning }),
      "not_found",
      /repository org\/missing not found on http:\/\/127\.0\.0\.1:\d+ \(HF_ENDPOINT\)/,
    );
    await expectFail(
      downloadModel({
        uri: "hf://org/tiny@nope",
        localDir: await tempDir("hfrev"),
        settings: hfSettings(),
        tuning,
      }),
      "not_found",
      /revision 'nope' not found in org\/tiny .*the repository exists/,
    );
  });

  test("content that does not match its SHA-256 is deleted and fails verification", async () => {
    const good = randomPayload(2 * MiB);
    await hub.addRepo("org/corrupt", [{ path: "w.safetensors", body: good }]);
    // Serve different bytes under the same listing (what a bad mirror or disk would do).
    hub.fault("org/corrupt", "w.safetensors", {});
    const local = await tempDir("corrupt");
    good[12345] = good[12345]! ^ 0xff; // the hub serves the mutated buffer; the tree still has the original SHA-256
    await expectFail(
      downloadModel({ uri: "org/corrupt", localDir: local, settings: hfSettings(), tuning }),
      "verification",
      /SHA256 mismatch/,
    );
    expect(await visible(join(local, "org/corrupt"))).toEqual([]);
  });

  test("allow/ignore globs and AIBrix suffix filter", async () => {
    const local = await tempDir("hffilter");
    const r = await downloadModel({
      uri: "org/tiny",
      localDir: local,
      settings: hfSettings(),
      tuning,
      allowSuffix: ["json"],
      ignore: ["nested/"],
    });
    expect(await visible(r.path)).toEqual(["config.json"]);
  });

  test("hf-cache layout: blobs, snapshot symlinks, refs/main written last", async () => {
    const local = await tempDir("hfcache");
    const r = await downloadModel({
      uri: "org/tiny",
      localDir: local,
      layout: "hf-cache",
      settings: hfSettings(),
      tuning,
    });
    expect(r.path).toBe(join(local, "models--org--tiny", "snapshots", commit));
    expect(await readFile(join(local, "models--org--tiny", "refs", "main"), "utf8")).toBe(commit);
    expect(await sha256File(join(r.path, "model.safetensors"))).toBe(sha256(weights));
    expect((await stat(join(local, "models--org--tiny", "blobs", sha256(weights)))).size).toBe(
      weights.length,
    );
  });
});

afterAll(() => removeTempDirs());
