// The poller against a real local HTTP engine: one poll in flight, coalesced refresh on a stale scrape,
// scrapes bounded in time when the engine is slow, and the timer never overlapping polls.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { silentLogger } from "../log.ts";
import { createOwnMetrics } from "./own.ts";
import { waitUntil } from "../tests/helpers/sidecar.ts";
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

/**
 * An engine whose /metrics answers after `delay()` ms, or (delay() < 0) only once `release()` is called;
 * counts requests and the most in flight at once.
 */
async function engine(delay: () => number) {
  const stats = { requests: 0, inFlight: 0, maxInFlight: 0 };
  const held: Array<() => void> = [];
  server = createServer((_req, res) => {
    stats.requests++;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    const answer = () => {
      stats.inFlight--;
      res.end(VLLM);
    };
    const d = delay();
    if (d < 0) held.push(answer);
    else setTimeout(answer, d);
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  const release = () => {
    for (const a of held.splice(0)) a();
  };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats, release, held };
}

/** A clock the test moves by hand (the poller's `now`). */
function clock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

/** Resolves "first" when `p` settles before a macrotask turn, "later" otherwise (no wall-clock involved). */
async function settlesAtOnce(p: Promise<unknown>): Promise<"first" | "later"> {
  return Promise.race([
    p.then(() => "first" as const),
    new Promise<"later">((r) => setImmediate(() => r("later"))),
  ]);
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
    const c = clock();
    const p = make(e.url, { now: c.now });
    const first = await p.refresh();
    c.advance(49); // within maxAge (50 ms): served as is, no poll
    expect(await p.fresh()).toBe(first);
    expect(e.stats.requests).toBe(1);
    c.advance(2); // now older than maxAge
    const snaps = await Promise.all(Array.from({ length: 20 }, () => p.fresh()));
    expect(e.stats.requests).toBe(2);
    for (const s of snaps) expect(s.builtAt).toBeGreaterThan(first.builtAt);
  });

  test("a slow engine never holds a scrape: the old snapshot is served, one poll in flight", async () => {
    let hold = false;
    const e = await engine(() => (hold ? -1 : 0));
    const c = clock();
    const p = make(e.url, { timeoutMs: 60_000, now: c.now });
    const first = await p.refresh();
    hold = true; // the engine now answers only when released
    c.advance(80);
    // The scrape waits at most refreshWaitMs for the poll, which cannot finish while the engine is held:
    // that it resolves at all, with the old snapshot, shows it did not wait for the engine.
    expect(await p.fresh()).toBe(first);
    expect(e.held.length).toBe(1);
    // Once the poll has been in flight refreshWaitMs (100 ms by the poller's clock), scrapes do not wait at
    // all: they settle before the next macrotask, and start no second poll.
    c.advance(100);
    for (let i = 0; i < 5; i++) expect(await settlesAtOnce(p.fresh())).toBe("first");
    expect(e.stats.maxInFlight).toBe(1);
    expect(e.stats.requests).toBe(2);
    e.release();
    await waitUntil(() => p.current() !== first);
  });

  test("engine families are kept until the staleness bound, then dropped and engine_up turns 0", async () => {
    let hold = false;
    const e = await engine(() => (hold ? -1 : 0));
    const c = clock();
    const own = createOwnMetrics();
    const p = make(e.url, { own, now: c.now, staleAfterMs: 500, maxAgeMs: 60_000 });
    await p.refresh();
    expect(p.current().familyNames.has("aibrix:queue_size")).toBe(true);
    hold = true;
    void p.refresh(); // hangs on the engine
    c.advance(500); // exactly at the bound: still fresh
    expect((await p.fresh()).familyNames.has("aibrix:queue_size")).toBe(true);
    expect(own.render()).toContain("\naibrix:engine_up 1\n");
    c.advance(1); // past it
    expect((await p.fresh()).familyNames.has("aibrix:queue_size")).toBe(false);
    expect(own.render()).toContain("\naibrix:engine_up 0\n");
    e.release();
  });

  test("the timer polls repeatedly and never overlaps polls, even when a poll outlasts the interval", async () => {
    const e = await engine(() => 60);
    const p = make(e.url, { intervalMs: 20 });
    p.start();
    p.start(); // idempotent
    await waitUntil(() => e.stats.requests >= 4);
    expect(e.stats.maxInFlight).toBe(1);
  });

  test("engine up/down and scrape errors are reported in the own registry", async () => {
    const e = await engine(() => 0);
    const own = createOwnMetrics();
    const p = make(e.url, { own });
    await p.refresh();
    expect(own.render()).toContain("\naibrix:engine_up 1\n");
    server!.closeAllConnections();
    await new Promise((r) => server!.close(r)); // the port no longer listens
    await p.refresh();
    const text = own.render();
    expect(text).toContain("\naibrix:engine_up 0\n");
    expect(text).toContain('aibrix:engine_scrape_errors_total{reason="unreachable"} 1');
  });

  test("an oversize body (declared or chunked) or too many series is a scrape error; the last good data stays", async () => {
    let mode: "good" | "declared" | "chunked" | "series" = "good";
    let aborted = 0;
    const chunk = Buffer.from(`${"x".repeat(1000)}\n`.repeat(64)); // 64 KB
    server = createServer((_req, res) => {
      if (mode === "good") return res.end(VLLM);
      if (mode === "series") {
        const lines = Array.from({ length: 2000 }, (_, i) => `junk{i="${i}"} 1`);
        return res.end(`${VLLM}${lines.join("\n")}\n`);
      }
      if (mode === "declared") res.setHeader("content-length", String(100 * 1024 * 1024));
      res.on("close", () => {
        if (!res.writableFinished) aborted++;
      });
      // Endless (or 100 MB declared): write as fast as the client drains, until it hangs up.
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const own = createOwnMetrics();
    const p = make(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, {
      own,
      maxBytes: 256 * 1024,
      maxSeries: 1000,
      timeoutMs: 30_000,
    });
    const good = await p.refresh();
    expect(good.familyNames.has("vllm:num_requests_running")).toBe(true);
    for (const m of ["declared", "chunked", "series"] as const) {
      mode = m;
      const snap = await p.refresh();
      // The last good scrape keeps being served (until the staleness bound), the engine counts as down.
      expect(snap.body("text")).toBe(good.body("text"));
    }
    const text = own.render();
    expect(text).toContain('aibrix:engine_scrape_errors_total{reason="too_large"} 2');
    expect(text).toContain('aibrix:engine_scrape_errors_total{reason="too_many_series"} 1');
    expect(text).toContain("\naibrix:engine_up 0\n");
    // Both oversize bodies were cut off by the client, not read to the end.
    while (aborted < 2) await new Promise((r) => setTimeout(r, 5));
    mode = "good";
    await p.refresh();
    expect(own.render()).toContain("\naibrix:engine_up 1\n");
  });
});
