// Issue 18: local I/O failures (a file where a directory must go; EACCES/EROFS alike) are their own reason,
// `local_io`, naming the path, the uid and the fix: CLI exit 16, LoRA route 500 (never 403 "Permission
// denied: s3://..."), and the model API reports them. The test runs as any user: a path below a regular
// file fails with ENOTDIR even for root, where a permission test would not.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT } from "../exit.ts";
import { startMockEngine } from "../mock/index.ts";
import { startFakeS3 } from "./fakes/s3.ts";
import { adapterFiles, call, writeAdapterDir } from "./helpers/lora.ts";
import { startInProcess } from "./helpers/inproc.ts";
import { BIN } from "./helpers/sidecar.ts";

let tmp: string;
let plain: string;
let src: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "local-io-"));
  plain = join(tmp, "plain-file");
  await writeFile(plain, "not a directory");
  src = await writeAdapterDir(join(tmp, "src-model"), "m");
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test("CLI: a download into a path below a regular file exits 16 naming the path and the uid", () => {
  const r = spawnSync(BIN, ["download", src, "--local-dir", join(plain, "models")], {
    env: { PATH: process.env.PATH ?? "" },
    encoding: "utf8",
  });
  expect(r.status).toBe(EXIT.localIo);
  expect(r.stdout).toBe("");
  const last = JSON.parse(r.stderr.trim().split("\n").pop()!);
  expect(last).toMatchObject({ level: "error", reason: "local_io", exit_code: 16 });
  expect(last.msg).toContain(plain);
  expect(last.msg).toMatch(/uid \d+/);
  expect(last.msg).toContain("not a directory");
});

test("LoRA: an adapters directory that cannot be written answers 500 local_io, never 403", async () => {
  const s3 = startFakeS3({ credentials: [{ accessKeyId: "AKIDLIO", secretAccessKey: "lio-secret-key" }] });
  for (const [f, bytes] of Object.entries(adapterFiles("lio"))) await s3.put("bkt", `loras/lio/${f}`, bytes);
  const mock = await startMockEngine({ engine: "vllm", port: 0 });
  const side = await startInProcess({
    INFERENCE_ENGINE_ENDPOINT: mock.url,
    AIRUNTIME_ADAPTERS_DIR: join(plain, "adapters"),
    AIRUNTIME_STATE_DIR: join(tmp, "state"),
    AWS_ENDPOINT_URL: s3.url,
  });
  try {
    const r = await call(side.app, "/v1/lora_adapter/load", {
      lora_name: "lio",
      artifact_url: "s3://bkt/loras/lio/",
      credentials: { aws_access_key_id: "AKIDLIO", aws_secret_access_key: "lio-secret-key" },
    });
    expect(r.status).toBe(500);
    expect(r.json.error).toContain(plain);
    expect(r.json.error).toMatch(/uid \d+/);
    expect(r.json.error).not.toMatch(/Permission denied: s3|service unavailable/);
  } finally {
    await side.stop();
    await mock.stop();
    await s3.stop();
  }
});
