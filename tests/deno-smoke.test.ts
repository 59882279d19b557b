// The same main.ts runs under Deno (deno.json): it answers /healthz, and `download` fetches a model from the
// fake HF hub byte-exact (under Deno the sources use fetch, not the Bun socket client).
import { afterAll, expect } from "bun:test";
import { join } from "node:path";
import { startFakeHfHub } from "./fakes/hf-hub.ts";
import { freePort } from "./helpers/ports.ts";
import { type Proc, spawnProcess, waitUntil } from "./helpers/sidecar.ts";
import { tool } from "./helpers/tools.ts";
import { MiB, randomPayload, removeTempDirs, sha256, sha256File, tempDir } from "./storage/helpers.ts";

const deno = tool("deno");
const DENO = deno.path!;
let proc: Proc | undefined;
afterAll(async () => {
  // SIGTERM: `deno task` passes it on to the deno it started (SIGKILL would orphan that one).
  await proc?.stop("SIGTERM");
});

deno.test(
  "`deno task start` serves /healthz under Deno",
  async () => {
    const port = await freePort();
    // Through `deno task start`, as the README says (the task must not run the npm-installed deno as a script).
    proc = spawnProcess(DENO, ["task", "start", "--host", "127.0.0.1", "--port", String(port)], {
      INFERENCE_ENGINE_ENDPOINT: "http://127.0.0.1:9",
      DENO_NO_UPDATE_CHECK: "1",
    });
    const res = await waitUntil(
      () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok && r),
      30_000,
      50,
    );
    expect(await (res as Response).json()).toEqual({ status: "ok" });
    await proc.waitFor(/airuntime listening/, 30_000);
  },
  40_000,
);

deno.test(
  "airuntime download under Deno: files arrive byte-exact, SHA-256 verified",
  async () => {
    const hub = await startFakeHfHub();
    const weights = randomPayload(9 * MiB + 5); // large enough for the hashing worker
    const cfg = randomPayload(777);
    await hub.addRepo("org/deno", [
      { path: "model.safetensors", body: weights, lfs: true },
      { path: "config.json", body: cfg },
    ]);
    const local = await tempDir("deno");
    try {
      const dl = spawnProcess(
        DENO,
        ["run", "-A", "main.ts", "download", "hf://org/deno", "--local-dir", local],
        {
          HF_ENDPOINT: hub.url,
          DENO_NO_UPDATE_CHECK: "1",
          DOWNLOADER_PART_CHUNKSIZE: "1MiB",
        },
      );
      expect(await dl.exited).toBe(0);
      const dir = join(local, "org", "deno");
      expect(dl.output()).toContain(dir);
      expect(await sha256File(join(dir, "model.safetensors"))).toBe(sha256(weights));
      expect(await sha256File(join(dir, "config.json"))).toBe(sha256(cfg));
    } finally {
      await hub.stop();
      await removeTempDirs();
    }
  },
  60_000,
);
