// Every command the README's tour prints works as printed: the curls against `npm start` (scripts/demo.ts,
// on free ports: only the port number is changed), the download commands against a fake Hugging Face hub
// (HF_ENDPOINT; only the binary's path and the directory are changed), and the pairing check of
// docs/engines.md. (`deno task start` is run by tests/deno-smoke.test.ts, the demo's own curls by
// tests/mock-demo.test.ts, the Kubernetes quick start's overlay by tests/deploy.test.ts.)
import { afterAll, beforeAll, expect } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type FakeHfHub, startFakeHfHub } from "./fakes/hf-hub.ts";
import { freePort } from "./helpers/ports.ts";
import { BIN, type Proc, spawnProcess } from "./helpers/sidecar.ts";
import { tool } from "./helpers/tools.ts";
import { randomPayload, removeTempDirs, tempDir } from "./storage/helpers.ts";

const curl = tool("curl");

/** The `sh` code blocks of a Markdown section (from its heading to the next `## `). */
function shBlocks(file: string, heading: string): string[] {
  const text = readFileSync(file, "utf8");
  const start = text.indexOf(`## ${heading}`);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = text.indexOf("\n## ", start + 3);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}
const commands = (block: string, first: string) =>
  block
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith(first));

let demo: Proc;
let sidecarPort: number;
let hub: FakeHfHub;
beforeAll(async () => {
  hub = await startFakeHfHub();
  await hub.addRepo("Qwen/Qwen2.5-0.5B-Instruct", [
    { path: "config.json", body: new TextEncoder().encode('{"model_type":"qwen2"}') },
    { path: "generation_config.json", body: new TextEncoder().encode("{}") },
    { path: "model.safetensors", body: randomPayload(2 * 1024 * 1024) },
  ]);
  if (!curl.path) return;
  const enginePort = await freePort();
  sidecarPort = await freePort();
  demo = spawnProcess(process.execPath, [resolve("scripts/demo.ts")], {
    DEMO_ENGINE_PORT: String(enginePort),
    DEMO_SIDECAR_PORT: String(sidecarPort),
  });
  await demo.waitFor(/Ctrl-C stops both processes/, 30_000);
});
afterAll(async () => {
  await demo?.stop("SIGINT");
  await hub.stop();
  await removeTempDirs();
});

const sh = (cmd: string) => spawnSync("sh", ["-c", cmd], { encoding: "utf8", timeout: 10_000 });

curl.test("README tour: every curl works as printed against npm start", () => {
  const curls = commands(shBlocks("README.md", "A short tour")[0]!, "curl ");
  expect(curls.length).toBeGreaterThanOrEqual(5);
  for (const c of curls) {
    const r = sh(c.replaceAll("localhost:8080", `localhost:${sidecarPort}`));
    expect({ c, status: r.status }).toEqual({ c, status: 0 });
    expect(r.stdout.trim().length).toBeGreaterThan(0);
    expect(r.stdout).not.toMatch(/"object":"error"|not ready|Internal Server Error/);
  }
});

curl.test("docs/engines.md: the pairing check works as printed", () => {
  const curls = commands(shBlocks("docs/engines.md", "Checking the pairing")[0]!, "curl ");
  expect(curls.length).toBe(2);
  const [ready, up] = curls.map((c) => sh(c.replaceAll("localhost:8080", `localhost:${sidecarPort}`)));
  expect(ready!.stdout).toContain('{"status":"ready"}');
  expect(up!.stdout).toMatch(/^aibrix:engine_up 1$/m);
});

function run(cmd: string, env: Record<string, string>): Promise<{ status: number | null; out: string }> {
  return new Promise((done) => {
    const p = spawn("sh", ["-c", cmd], { env: { PATH: process.env.PATH ?? "", ...env } });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (status) => done({ status, out }));
  });
}

curl.test("README tour: the download commands work as printed (against a fake hub)", async () => {
  const dir = await tempDir("tour");
  const cmds = commands(shBlocks("README.md", "A short tour")[1]!, "dist/airuntime download ");
  expect(cmds.length).toBe(2);
  const env = { HF_ENDPOINT: hub.url };
  const [get, dry] = cmds.map((c) => c.replace("dist/airuntime", BIN).replaceAll("/tmp/models", dir));
  const a = await run(get!, env);
  expect(a.status).toBe(0);
  expect(a.out).toContain(`${dir}/Qwen/Qwen2.5-0.5B-Instruct`);
  expect(a.out).toMatch(/downloaded 2 files, .* verified/);
  const b = await run(dry!, env);
  expect(b.status).toBe(0);
  expect(b.out).toContain("model.safetensors");
  expect(b.out).toContain("dry run: nothing downloaded");
});
