// Issue 7 (access, input limits): routes through app.request (the sidecar in process); the Unix socket
// against the compiled binary.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyMatches } from "../security/auth.ts";
import { jsonShape } from "../security/limits.ts";
import { type InProcessSidecar, startInProcess } from "./helpers/inproc.ts";
import { type Proc, startSidecar } from "./helpers/sidecar.ts";

const KEY = "sidecar-key-Zq81kTnLmP";
const procs: Proc[] = [];
const sides: InProcessSidecar[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop("SIGKILL")));
  await Promise.all(sides.map((s) => s.stop()));
});
const dirs = () => {
  const state = mkdtempSync(join(tmpdir(), "airuntime-sec-"));
  return {
    AIRUNTIME_STATE_DIR: state,
    AIRUNTIME_ADAPTERS_DIR: join(state, "adapters"),
    DOWNLOADER_LOCAL_DIR: join(state, "models"),
  };
};
/** The compiled binary (for what only it does: listening). */
async function binary(env: Record<string, string>) {
  const p = await startSidecar({ ...dirs(), ...env });
  procs.push(p);
  return p;
}
/** The sidecar in process; `fetch(path, init)` goes through app.request. */
async function sidecar(env: Record<string, string>) {
  const s = await startInProcess({ ...dirs(), ...env });
  sides.push(s);
  return {
    output: s.output,
    fetch: (path: string, init: RequestInit = {}) => Promise.resolve(s.app.request(path, init)),
  };
}

type Op = { method: string; path: string };
async function managementRoutes(p: Awaited<ReturnType<typeof sidecar>>): Promise<Op[]> {
  const doc = (await (
    await p.fetch("/openapi.json", { headers: { authorization: `Bearer ${KEY}` } })
  ).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.entries(doc.paths)
    .flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path: path.replace(/\{[^}]+\}/g, "x") })),
    )
    .filter((o) => !["/healthz", "/ready", "/metrics", "/metrics/"].includes(o.path));
}

describe("API key", () => {
  test("without the key: 401 on every management route; with it: not 401; probes and metrics open", async () => {
    const p = await sidecar({ AIRUNTIME_API_KEY: KEY });
    const routes = await managementRoutes(p);
    expect(routes.length).toBeGreaterThanOrEqual(15);
    for (const r of routes) {
      const init = {
        method: r.method,
        headers: { "content-type": "application/json" },
        body: r.method === "GET" ? undefined : "{}",
      };
      const anon = await p.fetch(r.path, init);
      expect(`${r.method} ${r.path} -> ${anon.status}`).toBe(`${r.method} ${r.path} -> 401`);
      expect(((await anon.json()) as { detail: string }).detail).toContain("API key");
      const wrong = await p.fetch(r.path, {
        ...init,
        headers: { ...init.headers, authorization: "Bearer nope" },
      });
      expect(wrong.status).toBe(401);
      const ok = await p.fetch(r.path, {
        ...init,
        headers: { ...init.headers, authorization: `Bearer ${KEY}` },
      });
      expect(`${r.method} ${r.path} -> ${ok.status === 401 ? 401 : "authorized"}`).toBe(
        `${r.method} ${r.path} -> authorized`,
      );
      const viaHeader = await p.fetch(r.path, {
        ...init,
        headers: { ...init.headers, "x-airuntime-key": KEY },
      });
      expect(viaHeader.status).not.toBe(401);
    }
    expect((await p.fetch("/healthz")).status).toBe(200);
    expect((await p.fetch("/ready")).status).not.toBe(401);
    expect((await p.fetch("/metrics")).status).not.toBe(401);
    expect(p.output()).not.toContain(KEY);
  });

  test("AIRUNTIME_METRICS_AUTH=1 protects /metrics too; the key can come from a file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "airuntime-keyfile-"));
    writeFileSync(join(dir, "key"), `${KEY}\n`);
    const p = await sidecar({ AIRUNTIME_API_KEY_FILE: join(dir, "key"), AIRUNTIME_METRICS_AUTH: "1" });
    expect((await p.fetch("/metrics")).status).toBe(401);
    expect((await p.fetch("/metrics", { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
    expect((await p.fetch("/healthz")).status).toBe(200);
    expect(p.output()).not.toContain(KEY);
  });

  test("keys compare in constant time over equal-length digests (any length is safe)", () => {
    expect(keyMatches(KEY, KEY)).toBe(true);
    expect(keyMatches("short", KEY)).toBe(false);
    expect(keyMatches(`${KEY}x`, KEY)).toBe(false);
    expect(keyMatches("", KEY)).toBe(false);
  });
});

describe("input limits", () => {
  test("oversized body: 413; deep JSON: 400 naming the nesting", async () => {
    const p = await sidecar({ AIRUNTIME_MAX_BODY_BYTES: "4096" });
    const big = await p.fetch("/v1/lora_adapter/load", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ lora_name: "x", lora_path: "/tmp/" + "a".repeat(10_000) }),
    });
    expect(big.status).toBe(413);
    const deep = await p.fetch("/v1/lora_adapter/load", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "[".repeat(100) + "]".repeat(100),
    });
    expect(deep.status).toBe(400);
    expect(await deep.text()).toContain("nesting");
  });

  test("limits at their edges: 32 levels pass, 33 do not; a 64 KiB string passes, one character more does not", async () => {
    const p = await sidecar({});
    const post = (body: string) =>
      p.fetch("/v1/lora_adapter/load", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    const nested = (n: number) =>
      `{"lora_name":"x","additional_config":${"[".repeat(n - 1)}${"]".repeat(n - 1)}}`;
    const deep = await post(nested(33));
    expect(deep.status).toBe(400);
    expect(await deep.text()).toContain("nesting deeper than 32");
    const edge = await post(nested(32));
    expect(await edge.text()).not.toContain("nesting");
    const long = (n: number) => JSON.stringify({ lora_name: "x", lora_path: `/tmp/${"a".repeat(n - 5)}` });
    const over = await post(long(64 * 1024 + 1));
    expect(over.status).toBe(400);
    expect(await over.text()).toContain("longer than 65536 characters");
    const at = await post(long(64 * 1024));
    expect(await at.text()).not.toContain("longer than");
  });

  test("jsonShape counts depth and string length, ignoring brackets inside strings", () => {
    expect(jsonShape('{"a":[1,{"b":"[[[["}]}')).toEqual({ depth: 3, longestString: 4 });
    expect(jsonShape('"he said \\"hi\\""').longestString).toBe(14);
  });
});

describe("listening", () => {
  test("AIRUNTIME_UNIX_SOCKET serves on a Unix socket only (no TCP port)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "airuntime-sock-"));
    const sock = join(dir, "airuntime.sock");
    const p = await binary({ AIRUNTIME_UNIX_SOCKET: sock });
    expect(p.url).toBe(`unix:${sock}`);
    const r = await fetch("http://localhost/healthz", { unix: sock } as RequestInit);
    expect(await r.json()).toEqual({ status: "ok" });
  });
});

describe("deadline", () => {
  test("every request is answered within AIRUNTIME_REQUEST_TIMEOUT, even when the engine hangs", async () => {
    const { createServer } = await import("node:net");
    const hung = createServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
    const port = (hung.address() as { port: number }).port;
    try {
      const p = await sidecar({
        INFERENCE_ENGINE_ENDPOINT: `http://127.0.0.1:${port}`,
        AIRUNTIME_REQUEST_TIMEOUT: "1",
      });
      // The engine never answers: a 504 naming the timeout at all is the deadline at work.
      const r = await p.fetch("/v1/models");
      expect(r.status).toBe(504);
      expect(await r.text()).toContain("timeout");
    } finally {
      hung.close();
    }
  });
});
