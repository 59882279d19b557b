// Engine replies are read with a cap (issue 12, F8): an endless or huge body from the engine (a LoRA load
// error, a model list) is cut off at ENGINE_REPLY_MAX_BYTES instead of being read until the deadline.
import { afterAll, expect, test } from "bun:test";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AppError } from "../errors.ts";
import { ENGINE_REPLY_MAX_BYTES } from "./http.ts";
import { vllmAdapter } from "./vllm.ts";

const served = { responses: 0, cutOff: 0, maxBytes: 0 };
const CHUNK = Buffer.alloc(64 * 1024, " ");

function flood(res: ServerResponse, head: string, limit: number) {
  served.responses++;
  let sent = 0;
  res.on("close", () => {
    served.maxBytes = Math.max(served.maxBytes, sent);
    if (!res.writableFinished) served.cutOff++;
  });
  res.write(head);
  const more = () => {
    while (!res.destroyed && sent < limit) {
      sent += CHUNK.length;
      if (!res.write(CHUNK)) return void res.once("drain", more);
    }
    if (!res.destroyed) res.end();
  };
  more();
}

const server = createServer((req, res) => {
  if (req.url === "/v1/load_lora_adapter") {
    res.writeHead(400, { "content-type": "application/json" }); // chunked, never ends
    return flood(res, '{"error":"adapter rejected: bad rank"', Number.POSITIVE_INFINITY);
  }
  if (req.url === "/v1/models") {
    res.writeHead(200, { "content-type": "application/json", "content-length": String(100 * 1024 * 1024) });
    return flood(res, '{"object":"list","data":[', 100 * 1024 * 1024 - 27);
  }
  res.end("{}");
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
afterAll(() => {
  server.closeAllConnections();
  server.close();
});
const engine = vllmAdapter({
  baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  timeoutMs: 20_000,
});
const ctx = () => ({ signal: new AbortController().signal });

test("an endless LoRA load error body: the engine's 400 with the start of its reason, not a timeout", async () => {
  const e = await engine.loadLora!({ name: "a", path: "/x" }, ctx()).catch((x) => x);
  expect(e).toBeInstanceOf(AppError);
  expect((e as AppError).status).toBe(400);
  expect((e as AppError).message).toContain("adapter rejected: bad rank");
  expect((e as AppError).message.length).toBeLessThan(1000);
});

test("a model list over the cap is a 502 naming the cap, not 100 MB read", async () => {
  const e = await engine.listModels(ctx()).catch((x) => x);
  expect(e).toBeInstanceOf(AppError);
  expect((e as AppError).status).toBe(502);
  expect((e as AppError).message).toContain(`more than ${ENGINE_REPLY_MAX_BYTES} bytes`);
  // Both bodies were cut off by the client, not read to the end (what was sent includes socket buffers).
  while (served.cutOff < 2) await new Promise((r) => setTimeout(r, 5));
  expect(served.maxBytes).toBeLessThan(64 * 1024 * 1024);
});
