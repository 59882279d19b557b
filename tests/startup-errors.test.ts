// Issue 18: start-up failures are one line (JSON when stderr is not a terminal) with a documented exit code,
// and the first log lines hold the effective settings. Against the compiled binary over real sockets.
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT } from "../exit.ts";
import { serve } from "../platform/serve.ts";
import { BIN, type Proc, startSidecar } from "./helpers/sidecar.ts";

const procs: Proc[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop("SIGKILL")));
});

/** Run the binary to its end; stderr must be exactly one JSON line. */
function runOnce(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(BIN, args, { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
  const lines = r.stderr.split("\n").filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\bat \S+ \(|\.ts:\d+/); // no stack frame
  return { status: r.status, line: JSON.parse(lines[0]!) as Record<string, unknown>, stdout: r.stdout };
}

describe("start-up failures", () => {
  test("port in use: one JSON line naming the port, exit 69", () => {
    const taken = serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    try {
      const r = runOnce(["--host", "127.0.0.1", "--port", String(taken.port)]);
      expect(r.status).toBe(EXIT.addressInUse);
      expect(r.line).toMatchObject({ level: "error", reason: "address_in_use", exit_code: 69 });
      expect(String(r.line.msg)).toContain(`port ${taken.port} on 127.0.0.1 is already in use`);
    } finally {
      void taken.stop(0);
    }
  });

  test("a Unix socket in a directory that does not exist: one line, exit 73", () => {
    const path = join(mkdtempSync(join(tmpdir(), "airuntime-sock-")), "missing", "s.sock");
    const r = runOnce(["--port", "0"], { AIRUNTIME_UNIX_SOCKET: path });
    expect(r.status).toBe(EXIT.socketPath);
    expect(r.line).toMatchObject({ reason: "socket_path", path });
    expect(String(r.line.msg)).toContain("its directory does not exist");
  });

  test("an address that is not local: one line, exit 68", () => {
    const r = runOnce(["--host", "192.0.2.1", "--port", "0"]); // TEST-NET-1: never this machine's
    expect(r.status).toBe(EXIT.addressNotLocal);
    expect(r.line).toMatchObject({ reason: "address_not_local", host: "192.0.2.1" });
  });

  test("invalid configuration: one JSON line listing every problem, exit 78", () => {
    const r = runOnce(["--port", "0"], { INFERENCE_ENGINE: "sglan", AIRUNTIME_METRICS_MODE: "fancy" });
    expect(r.status).toBe(EXIT.config);
    expect(r.line.reason).toBe("config");
    expect(String(r.line.msg)).toContain("did you mean sglang?");
    expect((r.line.problems as string[]).length).toBe(2);
  });

  test("an unreadable API key file is a configuration error, one line", () => {
    const r = runOnce(["--port", "0"], { AIRUNTIME_API_KEY_FILE: "/nonexistent/key" });
    expect(r.status).toBe(EXIT.config);
    expect(String(r.line.msg)).toContain("AIRUNTIME_API_KEY_FILE");
  });
});

describe("start-up log", () => {
  test("the first lines hold the effective settings; 0.0.0.0 without a key warns", async () => {
    const p = await startSidecar({ DOWNLOADER_LOCAL_DIR: "/tmp/airuntime-models-x/" }, ["--host", "0.0.0.0"]);
    procs.push(p);
    const first = p.logs().slice(0, 3);
    const settings = first.find((l) => l.msg === "effective settings");
    expect(settings).toMatchObject({
      auth: "off",
      engine: "vllm",
      metrics_mode: "default",
      download_dir: "/tmp/airuntime-models-x/",
      allowed_sources: "any",
    });
    const warn = first.find((l) => l.level === "warn" && String(l.msg).includes("management API is open"));
    expect(warn).toBeDefined();
  });

  test("with a key, or on loopback, no warning; the key is never logged", async () => {
    const p = await startSidecar({ AIRUNTIME_API_KEY: "sekrit-key-123456", HF_TOKEN: "hf_zzzsecret" }, [
      "--host",
      "0.0.0.0",
    ]);
    procs.push(p);
    const q = await startSidecar({}, ["--host", "127.0.0.1"]);
    procs.push(q);
    expect(p.logs().find((l) => l.msg === "effective settings")).toMatchObject({
      auth: "on",
      env_logins: ["HF_TOKEN"],
    });
    for (const x of [p, q])
      expect(x.logs().some((l) => String(l.msg).includes("management API is open"))).toBe(false);
    expect(JSON.stringify(p.logs())).not.toContain("sekrit-key-123456");
    expect(JSON.stringify(p.logs())).not.toContain("hf_zzzsecret");
  });
});
