// Redirect hops of an hf:// download against AIRUNTIME_ALLOWED_SOURCES (issue 12, F4): an hf:// entry admits
// the hub, and small files come from the hub's own host; the fake hub sends LFS files to its "CDN" on another
// host (localhost instead of 127.0.0.1), which needs an http(s) entry of its own. Refused: no byte served.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { downloadModel } from "../../storage/download.ts";
import { DownloadError } from "../../storage/errors.ts";
import { type FakeHfHub, startFakeHfHub } from "../fakes/hf-hub.ts";
import { MiB, randomPayload, removeTempDirs, settings, sha256, sha256File, tempDir } from "./helpers.ts";

let hub: FakeHfHub;
const weights = randomPayload(MiB + 11);
const config = new TextEncoder().encode('{"model_type":"llama"}');
const tuning = { connections: 2, partSize: 1 * MiB, stallMs: 3000, maxRetries: 1, hedgeAfterMs: 60_000 };

beforeAll(async () => {
  hub = await startFakeHfHub();
  await hub.addRepo("org/hops", [
    { path: "config.json", body: config, lfs: false },
    { path: "model.safetensors", body: weights, lfs: true },
  ]);
  await hub.addRepo("org/small", [{ path: "config.json", body: config, lfs: false }]);
});
afterAll(async () => {
  await hub.stop();
  await removeTempDirs();
});

const run = async (uri: string, allowed: string) =>
  downloadModel({
    uri,
    localDir: await tempDir("hops"),
    settings: settings({ HF_ENDPOINT: hub.url, AIRUNTIME_ALLOWED_SOURCES: allowed }),
    tuning,
  });

test("hf://org admits the hub's own host: a repo of small files downloads", async () => {
  const r = await run("hf://org/small", "hf://org");
  expect(await sha256File(join(r.path, "config.json"))).toBe(sha256(config));
});

test("an LFS hop to another host is refused without an http(s) entry for it, allowed with one", async () => {
  const cdn = `http://localhost:${new URL(hub.url).port}`;
  hub.resetStats();
  const err = await run("hf://org/hops", "hf://org").then(
    () => undefined,
    (e: unknown) => e as DownloadError,
  );
  expect(err).toBeInstanceOf(DownloadError);
  expect(err!.reason).toBe("forbidden");
  expect(err!.message).toContain(cdn);
  expect(err!.message).toContain("AIRUNTIME_ALLOWED_SOURCES");
  expect(hub.stats("org/hops", "model.safetensors").bytes).toBe(0);
  const r = await run("hf://org/hops", `hf://org,${cdn}`);
  expect(await sha256File(join(r.path, "model.safetensors"))).toBe(sha256(weights));
});
