// Unit tests of the LoRA manager with an in-memory engine adapter and an in-memory FetchToDir: the
// concurrency, registry and self-healing rules in isolation (integration tests use the real mock engine).
import { waitUntil } from "../tests/helpers/sidecar.ts";
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppError } from "../errors.ts";
import { silentLogger } from "../log.ts";
import type { FetchToDir } from "../storage/types.ts";
import { createLoraManager, type LoraManager } from "./manager.ts";
import { openAdapterStore } from "./store.ts";
import type { EngineAdapter } from "../engines/types.ts";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "lora-unit-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function fakeEngine(opts: { list?: boolean } = {}) {
  const loaded = new Map<string, string>();
  const calls = { load: 0, unload: 0 };
  let down = false;
  const engine: EngineAdapter = {
    kind: "vllm",
    baseUrl: "http://fake",
    metricsPath: "/metrics",
    rules: { rules: [] },
    health: async () => ({ healthy: !down }),
    listModels: async () => ({
      object: "list",
      data: [...loaded.keys()].map((id) => ({ id, parent: "base" })),
    }),
    ...(opts.list === false ? {} : { listLoras: async () => [...loaded.keys()] }),
    async loadLora({ name, path }) {
      calls.load++;
      if (down) throw new AppError("engine_unreachable", "connection refused / service unavailable");
      await new Promise((r) => setTimeout(r, 5));
      if (loaded.has(name)) return { already: true, engineMessage: "already been loaded" };
      await stat(join(path, "adapter_config.json"));
      loaded.set(name, path);
      return { already: false, engineMessage: "ok" };
    },
    async unloadLora(name) {
      calls.unload++;
      if (!loaded.delete(name)) throw new AppError("lora_not_found", `LoRA adapter '${name}' not found`);
      return "removed";
    },
  };
  return {
    engine,
    loaded,
    calls,
    setDown: (v: boolean) => {
      down = v;
    },
  };
}

function fakeFetch(delayMs = 20) {
  const calls: string[] = [];
  const f: FetchToDir = async (req) => {
    calls.push(req.uri);
    await new Promise((r) => setTimeout(r, delayMs));
    const tmp = `${req.dest}.partial`;
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, "adapter_config.json"), JSON.stringify({ r: 8 }));
    await rm(req.dest, { recursive: true, force: true });
    await (await import("node:fs/promises")).rename(tmp, req.dest);
    return { path: req.dest, files: 1, bytes: 8 };
  };
  return { f, calls };
}

async function manager(engine: EngineAdapter, fetchToDir?: FetchToDir, waitMs = 5000): Promise<LoraManager> {
  const store = await openAdapterStore(join(root, "state"), silentLogger);
  return createLoraManager({
    engine,
    store,
    fetchToDir,
    adaptersDir: join(root, "adapters"),
    credentialsDir: join(root, "secrets"),
    engineTimeoutMs: 2000,
    waitMs,
    log: silentLogger,
  });
}

test("20 concurrent identical loads: one download, one engine call, every caller succeeds", async () => {
  const e = fakeEngine();
  const dl = fakeFetch();
  const m = await manager(e.engine, dl.f);
  const outs = await Promise.all(
    Array.from({ length: 20 }, () =>
      m.load({ mode: "delegation", name: "a1", artifact_url: "s3://bkt/a1/" }),
    ),
  );
  expect(outs.every((o) => o.path === join(root, "adapters", "a1"))).toBe(true);
  expect(dl.calls.length).toBe(1);
  expect(e.calls.load).toBe(1);
  // A later identical load is answered from the registry after checking the engine's list.
  await m.load({ mode: "delegation", name: "a1", artifact_url: "s3://bkt/a1/" });
  expect(e.calls.load).toBe(1);
  const disk = JSON.parse(await readFile(join(root, "state", "lora-adapters.json"), "utf8"));
  expect(disk.adapters[0]).toMatchObject({
    name: "a1",
    source: "s3://bkt/a1/",
    downloaded: true,
    state: "loaded",
  });
});

test("an engine restart is healed by reconcile with the recorded path", async () => {
  const e = fakeEngine();
  const dl = fakeFetch();
  const m = await manager(e.engine, dl.f);
  await m.load({ mode: "delegation", name: "a2", artifact_url: "hf://org/a2" });
  e.loaded.clear();
  await m.reconcile("test");
  expect(e.loaded.get("a2")).toBe(join(root, "adapters", "a2"));
  expect(dl.calls.length).toBe(1);
});

test("without an engine list, a restart seen by health triggers a reload", async () => {
  const e = fakeEngine({ list: false });
  const m = await manager(e.engine, fakeFetch().f);
  await m.load({ mode: "delegation", name: "a3", artifact_url: "s3://bkt/a3" });
  await m.reconcile("periodic");
  expect(e.calls.load).toBe(1);
  e.loaded.clear();
  await m.reconcile("engine became ready", true);
  expect(e.calls.load).toBe(2);
  expect(e.loaded.has("a3")).toBe(true);
});

test("unload reports the engine's 404 and removes only files the sidecar downloaded", async () => {
  const e = fakeEngine();
  const m = await manager(e.engine, fakeFetch().f);
  const local = join(root, "mine");
  await mkdir(local);
  await writeFile(join(local, "adapter_config.json"), "{}");
  await m.load({ mode: "delegation", name: "loc", artifact_url: local });
  await m.unload("loc", { cleanupLocal: true });
  expect((await stat(local)).isDirectory()).toBe(true);
  await m.load({ mode: "delegation", name: "dl", artifact_url: "s3://bkt/dl" });
  await m.unload("dl", { cleanupLocal: true });
  expect(await stat(join(root, "adapters", "dl")).catch(() => null)).toBeNull();
  const err = await m.unload("dl", { cleanupLocal: true }).catch((x) => x);
  expect(err).toBeInstanceOf(AppError);
  expect(err.status).toBe(404);
});

test("engine down gives 503 with a retry word, then the same load succeeds", async () => {
  const e = fakeEngine();
  const m = await manager(e.engine, fakeFetch().f);
  e.setDown(true);
  const err = await m.load({ mode: "delegation", name: "d1", artifact_url: "s3://bkt/d1" }).catch((x) => x);
  expect(err.status).toBe(503);
  expect(err.message).toMatch(/service unavailable|connection refused/);
  e.setDown(false);
  const out = await m.load({ mode: "delegation", name: "d1", artifact_url: "s3://bkt/d1" });
  expect(out.path).toBe(join(root, "adapters", "d1"));
});

test("a slow download outlives the request wait; a repeated load joins it", async () => {
  const e = fakeEngine();
  const dl = fakeFetch(300);
  const m = await manager(e.engine, dl.f, 50);
  const err = await m
    .load({ mode: "delegation", name: "slow", artifact_url: "s3://bkt/slow" })
    .catch((x) => x);
  expect(err.status).toBe(503);
  expect(err.message).toMatch(/timeout/);
  const m2 = m.load({ mode: "delegation", name: "slow", artifact_url: "s3://bkt/slow" }).catch((x) => x);
  await m2;
  // Eventually done with exactly one download.
  await waitUntil(() => e.loaded.has("slow"));
  expect(dl.calls.length).toBe(1);
});

test("bad names and escaping paths are refused before anything touches the disk", async () => {
  const e = fakeEngine();
  const dl = fakeFetch();
  const m = await manager(e.engine, dl.f);
  for (const name of ["../x", "a/b", "x".repeat(200), ".hidden", ""]) {
    const err = await m.load({ mode: "delegation", name, artifact_url: "s3://bkt/x" }).catch((x) => x);
    expect(err.status).toBe(400);
  }
  expect(await stat(join(root, "adapters")).catch(() => null)).toBeNull();
  expect(dl.calls.length).toBe(0);
  const err = await m
    .load({ mode: "delegation", name: "ok", artifact_url: "s3://bkt/x", local_dir: "/etc" })
    .catch((x) => x);
  expect(err.status).toBe(400);
});

test("an engine without runtime LoRA answers 501 naming the engine and the capability", async () => {
  const { loadLora: _l, unloadLora: _u, ...rest } = fakeEngine().engine;
  const m = await manager({ ...rest, kind: "tgi" }, fakeFetch().f);
  const err = await m.load({ mode: "direct", name: "x", lora_path: "/x" }).catch((x) => x);
  expect(err.status).toBe(501);
  expect(err.message).toContain("'tgi'");
  expect(err.message).toContain("lora_load");
  const err2 = await m.unload("x", { cleanupLocal: true }).catch((x) => x);
  expect(err2.status).toBe(501);
  expect(err2.message).toContain("lora_unload");
});

test("the same name with a new source is refused (400 already been loaded) and the loaded adapter stays", async () => {
  const e = fakeEngine();
  const dl = fakeFetch();
  const m = await manager(e.engine, dl.f);
  const first = await m.load({ mode: "delegation", name: "r", artifact_url: "s3://bkt/v1" });
  const local = join(root, "v2");
  await mkdir(local);
  await writeFile(join(local, "adapter_config.json"), "{}");
  for (const url of [local, "/nonexistent/path", "s3://bkt/missing"]) {
    const err = await m.load({ mode: "delegation", name: "r", artifact_url: url }).catch((x) => x);
    expect(err.status).toBe(400);
    expect(err.message).toContain("has already been loaded");
  }
  // Nothing was unloaded, nothing downloaded again, the old files are still there.
  expect(e.loaded.get("r")).toBe(first.path);
  expect(e.calls.unload).toBe(0);
  expect(dl.calls).toEqual(["s3://bkt/v1"]);
  expect((await stat(join(first.path, "adapter_config.json"))).isFile()).toBe(true);
  // The same source again is idempotent success.
  expect((await m.load({ mode: "delegation", name: "r", artifact_url: "s3://bkt/v1" })).already).toBe(true);
  // Replacement is explicit: unload, then load from the new source.
  await m.unload("r", { cleanupLocal: true });
  const out = await m.load({ mode: "delegation", name: "r", artifact_url: local });
  expect(out.already).toBe(false);
  expect(e.loaded.get("r")).toBe(local);
  expect(await stat(join(root, "adapters", "r")).catch(() => null)).toBeNull();
});

test("AIRUNTIME_ALLOWED_SOURCES also covers absolute local paths", async () => {
  const e = fakeEngine();
  const store = await openAdapterStore(join(root, "state"), silentLogger);
  const m = createLoraManager({
    engine: e.engine,
    store,
    adaptersDir: join(root, "adapters"),
    credentialsDir: join(root, "secrets"),
    engineTimeoutMs: 2000,
    waitMs: 5000,
    log: silentLogger,
    allowedSources: ["s3", `${root}/allowed`],
  });
  for (const dir of ["allowed", "other"]) {
    await mkdir(join(root, dir));
    await writeFile(join(root, dir, "adapter_config.json"), "{}");
  }
  expect((await m.load({ mode: "delegation", name: "ok", artifact_url: join(root, "allowed") })).path).toBe(
    join(root, "allowed"),
  );
  const err = await m
    .load({ mode: "delegation", name: "no", artifact_url: join(root, "other") })
    .catch((x) => x);
  expect(err.status).toBe(403);
  expect(e.calls.load).toBe(1);
});

test("F12: unload deletes only the directory it downloaded (local_dir honoured); a user's <adapters>/<name> stays", async () => {
  const e = fakeEngine();
  const dl = fakeFetch();
  const m = await manager(e.engine, dl.f);
  const adapters = join(root, "adapters");
  const user = join(adapters, "a12"); // placed by someone else, never by the sidecar
  await mkdir(user, { recursive: true });
  await writeFile(join(user, "adapter_config.json"), '{"user":true}');
  await writeFile(join(user, "adapter_model.safetensors"), "user weights");
  const team = join(adapters, "team");
  const out = await m.load({
    mode: "delegation",
    name: "a12",
    artifact_url: "s3://bkt/a12/",
    local_dir: team,
  });
  expect(out.path).toBe(join(team, "a12"));
  const r = await m.unload("a12", { cleanupLocal: true });
  expect(r.removedLocal).toBe(true);
  expect(await stat(join(team, "a12")).catch(() => null)).toBeNull();
  expect(await readFile(join(user, "adapter_config.json"), "utf8")).toBe('{"user":true}');
  expect(await readFile(join(user, "adapter_model.safetensors"), "utf8")).toBe("user weights");
});

test("F12: reloading a downloaded adapter from a direct path deletes the old download, never the direct path", async () => {
  const e = fakeEngine();
  const dl = fakeFetch();
  const m = await manager(e.engine, dl.f);
  const adapters = join(root, "adapters");
  const team = join(adapters, "team");
  await m.load({ mode: "delegation", name: "a13", artifact_url: "s3://bkt/a13/", local_dir: team });
  const user = join(adapters, "a13");
  await mkdir(user, { recursive: true });
  await writeFile(join(user, "adapter_config.json"), '{"user":true}');
  // While the engine holds a13, another path is refused (issue 16 item 1) and nothing is deleted.
  const refused = await m.load({ mode: "direct", name: "a13", lora_path: user }).catch((x) => x);
  expect(refused.status).toBe(400);
  expect(await stat(join(team, "a13", "adapter_config.json")).catch(() => null)).not.toBeNull();
  // The engine lost it (restart): the reload from the direct path replaces the record.
  e.loaded.delete("a13");
  await m.load({ mode: "direct", name: "a13", lora_path: user });
  expect(await stat(join(team, "a13")).catch(() => null)).toBeNull();
  expect(await readFile(join(user, "adapter_config.json"), "utf8")).toBe('{"user":true}');
  await m.unload("a13", { cleanupLocal: true });
  expect(await readFile(join(user, "adapter_config.json"), "utf8")).toBe('{"user":true}');
});
