// The same main.ts starts under Deno (deno.json) and answers /healthz.
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { freePort } from "./helpers/ports.ts";
import { type Proc, spawnProcess, waitUntil } from "./helpers/sidecar.ts";

const DENO = resolve("node_modules/.bin/deno");
let proc: Proc | undefined;
afterAll(async () => {
  await proc?.stop("SIGKILL");
});

test.skipIf(!existsSync(DENO))(
  "main.ts serves /healthz under Deno",
  async () => {
    const port = await freePort();
    proc = spawnProcess(DENO, ["run", "-A", "main.ts", "--host", "127.0.0.1", "--port", String(port)], {
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
