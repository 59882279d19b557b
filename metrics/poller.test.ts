// The poller against a real local HTTP engine: one poll in flight, coalesced refresh on a stale scrape,
// scrapes bounded in time when the engine is slow, and the timer never overlapping polls.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { silentLogger } from "../log.ts";
import { createOwnMetrics } from "./own.ts";
import { createMetricsPoller, type MetricsPoller, type PollerOptions } from "./poller.ts";
import { rulesFor } from "./rules.ts";

const VLLM = readFileSync(new URL("./fixtures/vllm.prom", import.meta.url), "utf8");

let server: Server | undefined;
let poller: MetricsPoller | undefined;
afterEach(() => {
  poller?.stop();
  server?.closeAllConnections();
  server?.close();
});

/** An engine whose /metrics answers after `delay()` ms; counts requests and the most in flight at once. */
async function engine(delay: () => number) {
  const stats = { requests: 0, inFlight: 0, maxInFlight: 0 };
  server = createServer((_req, res) => {
    stats.requests++;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    setTimeout(() => {
      stats.inFlight--;
      res.end(VLLM);
    }, delay());
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats };
}

function make(url: string, o: Partial<PollerOptions> = {}): MetricsPoller {
  poller = createMetricsPoller({
    endpoints: [url],
    path: "/metrics",
    mode: "default",
    rules: rulesFor("vllm"),
    intervalMs: 60_000,
    maxAgeMs: 50,
    staleAfterMs: 60_000,
    own: createOwnMetrics(),
    log: silentLogger,
    ...o,
  });
  return poller;
}

describe("metrics poller", () => {
  test("concurrent refreshes share one poll", async () => {
    const e = await engine(() => 100);
    const p = make(e.url);
    const snaps = await Promise.all(Array.from({ length: 10 }, () => p.refresh()));
    expect(e.stats.requests).toBe(1);
    expect(new Set(snaps).size).toBe(1);
    expect(snaps[0]!.familyNames.has("aibrix:queue_size")).toBe(true);
  });

  test("a stale snapshot triggers one coalesced refresh; scrapes get the fresher result", async () => {
    const e = await engine(() => 10);
    const p = make(e.url);
    const first = await p.refresh();
    await new Promise((r) => setTimeout(r, 80)); // older than maxAge (50 ms)
    const snaps = await Promise.all(Array.from({ length: 20 }, () => p.fresh()));
    expect(e.stats.requests).toBe(2);
    for (const s of snaps) expect(s.builtAt).toBeGreaterThan(first.builtAt);
  });

  test("a slow engine never holds a scrape longer than the short bound", async () => {
    let slow = false;
    const e = await engine(() => (slow ? 2000 : 0));
    const p = make(e.url, { timeoutMs: 5000 });
    const first = await p.refresh();
    slow = true;
    await new Promise((r) => setTimeout(r, 80));
    const t0 = performance.now();
    const s = await p.fresh();
    expect(performance.now() - t0).toBeLessThan(250);
    expect(s).toBe(first); // the old snapshot, served at once
    // While that poll hangs, further scrapes do not wait at all and start no second poll.
    const t1 = performance.now();
    await Promise.all(Array.from({ length: 5 }, () => p.fresh()));
    expect(performance.now() - t1).toBeLessThan(100);
    expect(e.stats.maxInFlight).toBe(1);
  });

  test("the timer polls repeatedly and never overlaps polls, even when a poll outlasts the interval", async () => {
    const e = await engine(() => 60);
    const p = make(e.url, { intervalMs: 20 });
    p.start();
    p.start(); // idempotent
    const deadline = Date.now() + 3000;
    while (e.stats.requests < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(e.stats.requests).toBeGreaterThanOrEqual(4);
    expect(e.stats.maxInFlight).toBe(1);
  });

  test("engine up/down and scrape errors are reported in the own registry", async () => {
    const e = await engine(() => 0);
    const own = createOwnMetrics();
    const p = make(e.url, { own });
    await p.refresh();
    expect(own.render()).toContain("\naibrix:engine_up 1\n");
    server!.close();
    server!.closeAllConnections();
    await new Promise((r) => setTimeout(r, 20));
    await p.refresh();
    const text = own.render();
    expect(text).toContain("\naibrix:engine_up 0\n");
    expect(text).toContain('aibrix:engine_scrape_errors_total{reason="unreachable"} 1');
  });
});
