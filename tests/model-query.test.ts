// Issue 13 item 6: the query parameters OpenAPI documents for /v1/model/status and DELETE /v1/model/{name}
// are validated by their schemas, as AIBrix's FastAPI does: a missing model_name is 422 with FastAPI's
// detail (loc ["query", "model_name"]), and a repeated local_dir (a list, not a string) is refused the same
// way instead of being read as its first value. In process through app.request.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { type InProc, inProc } from "./helpers/inproc.ts";

let s: InProc;
beforeAll(async () => {
  s = await inProc();
});
afterAll(async () => {
  await s.sidecar.stop();
  rmSync(s.dir, { recursive: true, force: true });
});

test("GET /v1/model/status without model_name is 422 naming the query field", async () => {
  const r = await s.request("GET", "/v1/model/status");
  expect(r.status).toBe(422);
  expect(r.json.detail[0].loc).toEqual(["query", "model_name"]);
});

test("GET /v1/model/status with a known-absent model is still AIBrix's 404", async () => {
  const r = await s.request("GET", "/v1/model/status?model_name=absent");
  expect(r.status).toBe(404);
});

test("a repeated local_dir is refused by the schema, not read as its first value", async () => {
  const dir = encodeURIComponent(`${s.dir}/models`);
  const status = await s.request("GET", `/v1/model/status?model_name=m&local_dir=${dir}&local_dir=/etc`);
  expect(status.status).toBe(422);
  expect(status.json.detail[0].loc).toEqual(["query", "local_dir"]);
  const del = await s.request("DELETE", `/v1/model/m?local_dir=${dir}&local_dir=/etc`);
  expect(del.status).toBe(422);
  expect(del.json.detail[0].loc).toEqual(["query", "local_dir"]);
});
