// Issue 12 F4 for the engine side: the engine is not trusted, so a redirect it answers with is never
// followed, neither on management calls (which carry the caller's Authorization) nor on metrics scrapes.
// A catch server stands where the redirect points and counts connections.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createServer, type Server as NetServer } from "node:net";
import { engineRequest } from "../engines/http.ts";
import { silentLogger } from "../log.ts";
import { createOwnMetrics } from "../metrics/own.ts";
import { createMetricsPoller } from "../metrics/poller.ts";
import { rulesFor } from "../metrics/rules.ts";
import { serve, type Server } from "../platform/serve.ts";

let connections = 0;
let trap: NetServer;
let trapUrl = "";
let engine: Server;

beforeAll(async () => {
  trap = createServer((sock) => {
    connections++;
    sock.destroy();
  });
  await new Promise<void>((r) => trap.listen(0, "127.0.0.1", r));
  const addr = trap.address();
  trapUrl = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  engine = serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req) =>
      new Response(null, { status: 307, headers: { location: `${trapUrl}${new URL(req.url).pathname}` } }),
  });
});
afterAll(async () => {
  await engine?.stop(0);
  trap?.close();
});

test("a management call is not redirected: the 3xx is the answer, the target sees no connection", async () => {
  const r = await engineRequest(`${engine.url}/v1/load_lora_adapter`, {
    method: "POST",
    body: { lora_name: "a", lora_path: "/x" },
    headers: { authorization: "Bearer caller-key" },
    signal: new AbortController().signal,
    timeoutMs: 5000,
  });
  expect(r.status).toBe(307);
  expect(connections).toBe(0);
});

test("a metrics scrape is not redirected: engine down for this poll, no connection elsewhere", async () => {
  const before = connections;
  const poller = createMetricsPoller({
    endpoints: [engine.url],
    path: "/metrics",
    mode: "default",
    rules: rulesFor("vllm"),
    intervalMs: 60_000,
    maxAgeMs: 50,
    staleAfterMs: 60_000,
    own: createOwnMetrics(),
    log: silentLogger,
  });
  try {
    const snap = await poller.refresh();
    expect(JSON.stringify(snap)).not.toContain(trapUrl);
    expect(connections).toBe(before);
  } finally {
    poller.stop();
  }
});
