// DELETE /v1/model/{name} refuses weights an engine launched by this sidecar is serving, and deletes them
// once that engine is deactivated.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { Proc } from "./helpers/sidecar.ts";
import { waitUntil } from "./helpers/sidecar.ts";
import { call, type LifeEnv, lifeEnv, model, post, removeEnv, start } from "./helpers/lifecycle.ts";

setDefaultTimeout(30_000);
let e: LifeEnv;
let sc: Proc;
let server: Server;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { "content-length": "4096", "content-type": "application/octet-stream" });
    res.end(Buffer.alloc(4096, 3));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  e = await lifeEnv();
  sc = await start(e);
});
afterAll(async () => {
  await sc?.stop();
  server?.close();
  await removeEnv(e);
});

test("weights of a launched engine cannot be deleted until it is deactivated", async () => {
  const port = (server.address() as { port: number }).port;
  const a = await post(sc, "/v1/runtime/models/activate", {
    model_name: "served",
    artifact_url: `http://127.0.0.1:${port}/model.safetensors`,
  });
  expect(a.status).toBe(200);
  await waitUntil(async () => (await model(sc, "served"))?.phase === "active", 20_000);
  const dir = join(e.dir, "models", "served");
  expect(existsSync(dir)).toBe(true);
  const refused = await call(sc, "DELETE", "/v1/model/served");
  expect(refused.status).toBe(409);
  expect(JSON.stringify(refused.json)).toContain("in use");
  expect(existsSync(dir)).toBe(true);
  expect((await post(sc, "/v1/runtime/models/deactivate", { model_name: "served" })).status).toBe(200);
  await waitUntil(async () => (await model(sc, "served")) === undefined, 20_000);
  const deleted = await call(sc, "DELETE", "/v1/model/served");
  expect(deleted.status).toBe(200);
  expect(existsSync(dir)).toBe(false);
});
