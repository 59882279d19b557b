// Weights come through the downloader, outside every lock (fixes AIBrix B18): while one activation's
// download runs, GET /v1/runtime/models answers at once and other models activate; a failed download
// fails the activation visibly (phase failed + last_error), never a bogus path.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { Proc } from "./helpers/sidecar.ts";
import { waitUntil } from "./helpers/sidecar.ts";
import {
  alive,
  call,
  enginePid,
  type LifeEnv,
  lifeEnv,
  model,
  models,
  post,
  removeEnv,
  start,
} from "./helpers/lifecycle.ts";

setDefaultTimeout(30_000);

const SIZE = 4096;
let e: LifeEnv;
let sc: Proc;
let server: Server;
let base = "";
let release!: () => void;
const released = new Promise<void>((r) => {
  release = r;
});
let bodyRequests = 0;
const pids: number[] = [];

beforeAll(async () => {
  // /slow/* dribbles one byte every 50 ms until the test releases it, /hold/* never ends, others are 404.
  server = createServer(async (req, res) => {
    const hold = req.url?.startsWith("/hold/") ?? false; // dribbles until the client goes away
    if (!req.url?.startsWith("/slow/") && !hold) {
      res.writeHead(404).end("no such file");
      return;
    }
    res.writeHead(200, { "content-length": String(SIZE), "content-type": "application/octet-stream" });
    if (req.headers.range !== "bytes=0-0") bodyRequests++;
    let sent = 0;
    let open = true;
    res.on("close", () => {
      open = false;
    });
    let done = false;
    released.then(() => {
      done = !hold;
    });
    while (open && sent < SIZE && !done) {
      res.write(Buffer.alloc(1, 7));
      sent++;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (open) res.end(Buffer.alloc(SIZE - sent, 7));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  e = await lifeEnv();
  sc = await start(e);
});

afterAll(async () => {
  release();
  await sc?.stop();
  server?.close();
  await removeEnv(e, pids);
});

// The server holds the weights until release(): every answer below that arrives before release() proves the
// route did not wait for the download (no wall-clock bound needed; speed is bench/lifecycle.ts's business).
test("a long download does not delay GET /v1/runtime/models nor other activations", async () => {
  const a = await post(sc, "/v1/runtime/models/activate", {
    model_name: "big",
    artifact_url: `${base}/slow/model.safetensors`,
  });
  expect(a.status).toBe(200);
  await waitUntil(() => bodyRequests > 0);

  // While the download is in progress (the server has not released the bytes yet).
  for (let i = 0; i < 10; i++) {
    const list = await models(sc);
    expect(list.find((m) => m.model_name === "big")).toMatchObject({ phase: "booting", ready: false });
  }
  const snap = (await call(sc, "GET", "/v1/runtime/snapshot")).json;
  expect(snap.models[0]).toMatchObject({
    model_name: "big",
    phase: "booting",
    alive: false,
    last_error: null,
  });

  // Another model activates and becomes active while the download still runs.
  expect(
    (await post(sc, "/v1/runtime/models/activate", { model_name: "small", artifact_url: "/models/small" }))
      .status,
  ).toBe(200);
  await waitUntil(async () => (await model(sc, "small"))?.phase === "active", 15_000);
  expect((await model(sc, "big"))!.phase).toBe("booting");
  expect(existsSync(join(e.dir, "models", "big"))).toBe(false);
  pids.push(enginePid(e, "small")!);

  release();
  await waitUntil(async () => (await model(sc, "big"))?.phase === "active", 20_000).catch(async (err) => {
    const snap = (await call(sc, "GET", "/v1/runtime/snapshot")).json;
    throw new Error(`${err}\n${JSON.stringify(snap)}\n${sc.output().slice(-3000)}`);
  });
  pids.push(enginePid(e, "big")!);
  expect(existsSync(join(e.dir, "models", "big", "model.safetensors"))).toBe(true);
  const after = (await call(sc, "GET", "/v1/runtime/snapshot")).json;
  expect(after.cached_artifacts).toContain(`${base}/slow/model.safetensors`);
});

test("deactivate during a download aborts it: no engine, no weights directory", async () => {
  const held = bodyRequests;
  const url = `${base}/hold/other.safetensors`;
  expect(
    (await post(sc, "/v1/runtime/models/activate", { model_name: "aborted", artifact_url: url })).status,
  ).toBe(200);
  await waitUntil(() => bodyRequests > held);
  // The held download never finishes by itself: the deactivate answering shows it aborted it.
  expect((await post(sc, "/v1/runtime/models/deactivate", { model_name: "aborted" })).status).toBe(200);
  expect(await model(sc, "aborted")).toBeUndefined();
  expect(enginePid(e, "aborted")).toBeNull();
  expect(existsSync(join(e.dir, "models", "aborted"))).toBe(false);
});

test("a failed download fails the activation visibly", async () => {
  const url = `${base}/missing/model.safetensors`;
  const a = await post(sc, "/v1/runtime/models/activate", { model_name: "broken", artifact_url: url });
  expect(a.status).toBe(200);
  await waitUntil(async () => (await model(sc, "broken"))?.phase === "failed", 15_000);
  const snap = (await call(sc, "GET", "/v1/runtime/snapshot")).json;
  const m = snap.models.find((x: { model_name: string }) => x.model_name === "broken");
  expect(m).toMatchObject({ phase: "failed", ready: false, alive: false });
  expect(m.last_error).toContain(`download of ${url} failed`);
  expect(enginePid(e, "broken")).toBeNull();
  const again = await post(sc, "/v1/runtime/models/activate", { model_name: "broken", artifact_url: url });
  expect(again.status).toBe(500);
  expect(again.json.status).toBe("error");
  for (const name of ["big", "small", "broken"])
    await post(sc, "/v1/runtime/models/deactivate", { model_name: name });
  expect(await models(sc)).toEqual([]);
  for (const p of pids) await waitUntil(() => !alive(p), 5000);
});
