// Issue 2 acceptance against the compiled binary over real sockets.
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "../platform/serve.ts";
import { BIN, type Proc, spawnProcess, startSidecar, waitUntil } from "./helpers/sidecar.ts";
import { freePort } from "./helpers/ports.ts";

const procs: Proc[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop("SIGKILL")));
});
async function sidecar(env: Record<string, string> = {}, args: string[] = [], bin = BIN) {
  const p = await startSidecar(env, args, bin);
  procs.push(p);
  return p;
}

describe("binary", () => {
  // Start-up speed is measured in bench/startup.ts, not asserted here (a shared 2-core machine is no clock).
  test("answers /healthz on the port it was given, and logs that it listens", async () => {
    const port = await freePort();
    const p = spawnProcess(BIN, ["--host", "127.0.0.1", "--port", String(port)], {});
    procs.push(p);
    const res = await waitUntil(
      () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok && r),
      5000,
      2,
    );
    expect(await (res as Response).json()).toEqual({ status: "ok" });
    expect(await p.waitFor(/"msg":"airuntime listening"[^\n]*/)).toContain(`:${port}`);
  });

  test("INFERENCE_ENGINE=tgi with INFERENCE_ENGINE_VERSION=latest starts (AIBrix B1)", async () => {
    const p = await sidecar({ INFERENCE_ENGINE: "tgi", INFERENCE_ENGINE_VERSION: "latest" });
    expect((await fetch(`${p.url}/healthz`)).status).toBe(200);
  });

  test("an INFERENCE_ENGINE typo exits 78 with a suggestion; generic starts when asked for", async () => {
    const r = spawnSync(BIN, ["--port", "0"], { env: { INFERENCE_ENGINE: "vlm" }, encoding: "utf8" });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain("did you mean vllm?");
    const p = await sidecar({ INFERENCE_ENGINE: "generic" });
    expect((await fetch(`${p.url}/healthz`)).status).toBe(200);
  });

  test("INFERENCE_ENGINE_ENDPOINT=not-a-url exits 78 naming the variable", () => {
    const r = spawnSync(BIN, ["--port", "0"], {
      env: { INFERENCE_ENGINE_ENDPOINT: "not-a-url" },
      encoding: "utf8",
    });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain("INFERENCE_ENGINE_ENDPOINT");
  });

  test("an unknown flag prints one error line and where to look, exits 2; --help exits 0", () => {
    const bad = spawnSync(BIN, ["--frobnicate"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("error: unknown flag --frobnicate\nSee 'airuntime serve --help'.\n");
    const typo = spawnSync(BIN, ["serve", "--prot", "1"], { encoding: "utf8" });
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain("error: unknown flag --prot (did you mean --port?)");
    const mock = spawnSync(BIN, ["mock-engine", "--engin", "vllm"], { encoding: "utf8" });
    expect(mock.status).toBe(2);
    expect(mock.stderr).toBe(
      "error: unknown flag --engin (did you mean --engine?)\nSee 'airuntime mock-engine --help'.\n",
    );
    const cmd = spawnSync(BIN, ["donwload"], { encoding: "utf8" });
    expect(cmd.status).toBe(2);
    expect(cmd.stderr).toContain("(did you mean 'download'?)");
    const help = spawnSync(BIN, ["serve", "--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--port");
    const v = spawnSync(BIN, ["version"], { encoding: "utf8" });
    expect(v.stdout).toMatch(/^airuntime \d+\.\d+\.\d+/);
  });

  test("a symlink named aibrix_runtime serves with --port (the AIBrix webhook command)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "airuntime-link-"));
    const link = join(dir, "aibrix_runtime");
    symlinkSync(BIN, link);
    const p = await sidecar({}, [], link);
    expect(await (await fetch(`${p.url}/healthz`)).json()).toEqual({ status: "ok" });
  });

  test("/ready flips 503 -> 200 when the engine comes up, and back when it goes away", async () => {
    const enginePort = await freePort();
    const p = await sidecar({ INFERENCE_ENGINE_ENDPOINT: `http://127.0.0.1:${enginePort}` });
    const ready = async () => (await fetch(`${p.url}/ready`)).status;
    const first = await fetch(`${p.url}/ready`);
    expect(first.status).toBe(503);
    const body = (await first.json()) as { status: string; reason: string };
    expect(body.status).toBe("not ready");
    expect(body.reason).toMatch(/connection refused|service unavailable|not probed/);

    const engine = serve({ hostname: "127.0.0.1", port: enginePort, fetch: () => new Response("") });
    await waitUntil(async () => (await ready()) === 200);
    expect(await (await fetch(`${p.url}/ready`)).json()).toEqual({ status: "ready" });
    await engine.stop(0);
    await waitUntil(async () => (await ready()) === 503);
  });

  test("GET /v1/models passes the engine list through and forwards Authorization (B3)", async () => {
    const seen: string[] = [];
    const list = { object: "list", data: [{ id: "m", object: "model", root: "m", parent: null, extra: 1 }] };
    const engine = serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => {
        seen.push(req.headers.get("authorization") ?? "");
        return Response.json(list);
      },
    });
    try {
      const p = await sidecar({ INFERENCE_ENGINE_ENDPOINT: engine.url });
      const r = await fetch(`${p.url}/v1/models`, { headers: { authorization: "Bearer caller-key" } });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual(list);
      expect(seen).toContain("Bearer caller-key");
    } finally {
      await engine.stop(0);
    }
  });

  test("GET /v1/models with the engine down: 503 with a retry word", async () => {
    const p = await sidecar({ INFERENCE_ENGINE_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
    const r = await fetch(`${p.url}/v1/models`, { headers: { "x-request-id": "req-down-1" } });
    expect(r.status).toBe(503);
    expect(await r.text()).toMatch(/connection refused|service unavailable/);
    // The failure is logged as JSON with the request id on the line.
    await waitUntil(() => p.logs().some((l) => l.request_id === "req-down-1" && l.status === 503));
  });

  test("unknown route: 404 JSON; X-Request-Id echoed or generated", async () => {
    const p = await sidecar();
    const r = await fetch(`${p.url}/no/such/route`, { headers: { "x-request-id": "test-req-42" } });
    expect(r.status).toBe(404);
    expect(r.headers.get("content-type")).toContain("json");
    expect(r.headers.get("x-request-id")).toBe("test-req-42");
    expect(((await r.json()) as { status: number }).status).toBe(404);
    const fresh = await fetch(`${p.url}/healthz`);
    expect(fresh.headers.get("x-request-id")).toMatch(/\S+/);
  });

  test("SIGTERM: in-flight request finishes, then exit 0", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let arrived!: () => void;
    const arrivedP = new Promise<void>((r) => {
      arrived = r;
    });
    const engine = serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => {
        // Only the test's own request (marked by its forwarded Authorization) is held; the sidecar's
        // background calls (LoRA reconcile) must not be mistaken for it.
        if (
          new URL(req.url).pathname === "/v1/models" &&
          req.headers.get("authorization") === "Bearer in-flight"
        ) {
          arrived();
          await gate;
          return Response.json({ object: "list", data: [] });
        }
        return new Response("");
      },
    });
    try {
      const p = await sidecar({ INFERENCE_ENGINE_ENDPOINT: engine.url });
      const inflight = fetch(`${p.url}/v1/models`, { headers: { authorization: "Bearer in-flight" } });
      await arrivedP;
      p.proc.kill("SIGTERM");
      await p.waitFor(/"msg":"shutting down"/);
      release();
      const r = await inflight;
      expect(r.status).toBe(200);
      expect(await p.exited).toBe(0);
    } finally {
      await engine.stop(0);
    }
  });
});
