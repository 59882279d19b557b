// Builds and runs one mock engine: shared middleware (faults, auth, call counting), the personality's routes,
// the metrics endpoint, the /_mock debug routes, and the listener(s). See index.ts for the API.
import { createServer } from "node:net";
import { type Context, Hono } from "hono";
import { type Server, serve } from "../platform/serve.ts";
import { connectionReset, delay, malform, mergeFaults } from "./faults.ts";
import { PERSONALITIES } from "./personalities/index.ts";
import { createRng } from "./rng.ts";
import { countCall, MockState, resolveOptions } from "./state.ts";
import type { CallCounts, Faults, MockEngineName, MockOptions } from "./types.ts";

export interface MockEngine {
  readonly engine: MockEngineName;
  /** Base URL of the engine API, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Full URL of the Prometheus endpoint (Triton: its second port). */
  readonly metricsUrl: string;
  /** /metrics on the separate metrics listener (Triton's 8002, TGI's 9000), or null when there is none. */
  readonly metricsPortUrl: string | null;
  readonly port: number;
  stop(): Promise<void>;
  /** Forget loaded adapters, reset metrics, be down (or "starting") for downMs. Resolves once it is down. */
  restart(downMs?: number): Promise<void>;
  /** Resolves once the engine is up and ready again. */
  whenReady(): Promise<void>;
  /** Merge fault settings (a key set to null/false/0 switches it off); null clears every fault. */
  setFault(patch: Partial<Record<keyof Faults, unknown>> | null): void;
  faults(): Faults;
  /** Load/unload calls received per adapter name (every call, whatever its outcome). */
  counters(): Record<string, CallCounts>;
  /** Loaded adapters, name -> path. */
  loaded(): Record<string, string>;
  /** Advance the simulated load by n steps. */
  step(n?: number): void;
  /** Add one simulated request naming `model` (an adapter name, or null for the base model). */
  simulateRequest(model: string | null): void;
}

const METRICS_GRACE_MS = 100;

export async function startMockEngine(options: MockOptions): Promise<MockEngine> {
  const p = PERSONALITIES[options.engine];
  if (!p)
    throw new Error(`unknown engine '${options.engine}'; expected one of ${Object.keys(PERSONALITIES)}`);
  const opts = resolveOptions(options);
  const host = options.host ?? "127.0.0.1";
  const calls = new Map<string, CallCounts>();
  let state = new MockState(opts, calls, opts.startupDelayMs);
  let render = p.createMetrics(state);
  let faults: Faults = { ...options.faults };
  const faultRng = createRng(opts.seed ^ 0x5eed);
  const stopping = new AbortController();

  const metricsHandler = async (c: Context) => {
    if (!opts.metrics) return p.metricsDisabled(c);
    const signal = AbortSignal.any([c.req.raw.signal, stopping.signal]);
    if (faults.hangMetrics) {
      await new Promise<void>((r) => signal.addEventListener("abort", () => r()));
      return new Response(null, { status: 503 });
    }
    if (faults.slowMetricsMs) await delay(faults.slowMetricsMs, signal);
    state.catchUp();
    if (opts.tickMs <= 0 && state.isReady()) state.sim.step();
    const text = render();
    return new Response(faults.malformedMetrics ? malform(text) : text, {
      headers: { "content-type": p.metricsContentType, ...p.metricsHeaders?.(state) },
    });
  };

  const app = new Hono();
  app.use("*", async (c, next) => {
    const path = c.req.path;
    if (path.startsWith("/_mock/")) return next();
    if (faults.reset) return connectionReset();
    const denied = p.authorize(c, state);
    if (denied) return denied;
    const lr = p.loraRoutes.find((r) => r.method === c.req.method && r.path.test(path));
    if (lr) {
      const body = await c.req.raw
        .clone()
        .json()
        .catch(() => undefined);
      const name = lr.name(body, path);
      if (name) countCall(calls, name, lr.kind);
    }
    const isHealth = p.healthPaths.includes(path);
    if (isHealth && faults.unhealthy) return p.unhealthy(path);
    const exempt = path === p.metricsPath || isHealth;
    if (!exempt && faults.errorRate && faultRng.next() < faults.errorRate)
      return p.errorResponse(500, "mock fault: injected server error");
    state.catchUp();
    return next();
  });

  // --- mock-only debug routes (no auth, no faults) ---
  app.get("/_mock/stats", (c) =>
    c.json({
      engine: opts.engine,
      ready: state.isReady(),
      counters: Object.fromEntries(calls),
      loaded: Object.fromEntries(state.adapters),
      sleep_level: state.sleepLevel,
      faults,
      sim: {
        steps: state.sim.steps,
        running: state.sim.running.length,
        waiting: state.sim.waiting.length,
        kv_usage: state.sim.kvUsage(),
      },
    }),
  );
  app.post("/_mock/restart", (c) => {
    const downMs = Number(c.req.query("down_ms") ?? 500);
    if (!Number.isFinite(downMs) || downMs < 0)
      return c.json({ error: "down_ms must be a number >= 0" }, 400);
    setTimeout(() => void engine.restart(downMs), 20);
    return c.json({ restarting: true, down_ms: downMs }, 202);
  });
  app.post("/_mock/fault", async (c) => {
    try {
      const body = (await c.req.json()) as Record<string, unknown> | null;
      if (body === null || typeof body !== "object" || Array.isArray(body))
        return c.json({ error: 'expected a JSON object such as {"errorRate":0.3}' }, 400);
      faults = mergeFaults(faults, body);
      return c.json({ faults });
    } catch (e) {
      return c.json({ error: (e as Error).message }, 400);
    }
  });
  app.delete("/_mock/fault", (c) => {
    faults = {};
    return c.json({ faults });
  });
  app.post("/_mock/step", (c) => {
    const n = Number(c.req.query("n") ?? 1);
    engine.step(n);
    return c.json({ steps: state.sim.steps });
  });
  app.post("/_mock/request", async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { model?: string | null };
    engine.simulateRequest(body.model ?? null);
    return c.json({ queued: true });
  });

  // The personality sees the *current* state through this proxy, so restart can swap it.
  const live = new Proxy({} as MockState, {
    get: (_t, k) => {
      const v = Reflect.get(state, k, state);
      return typeof v === "function" ? v.bind(state) : v;
    },
    set: (_t, k, v) => Reflect.set(state, k, v, state),
  });
  p.mount(app, live);
  if (p.metricsPath) app.get(p.metricsPath, metricsHandler);
  app.notFound((c) => p.notFound(c));
  app.onError((e) => p.errorResponse(500, `mock internal error: ${e.message}`));

  // --- listeners ---
  const silent = p.silentWhileStarting;
  let port = options.port ?? 0;
  if (port === 0 && silent) port = await freePort(host);
  let main: Server | null = null;
  let upTimer: ReturnType<typeof setTimeout> | undefined;
  const listen = () => {
    main = serve({ hostname: host, port, fetch: (req) => app.fetch(req) });
    port = main.port;
  };
  const listenWhenReady = () => {
    const wait = state.readyAtMs - Date.now();
    if (silent && wait > 0) upTimer = setTimeout(listen, wait);
    else listen();
  };
  listenWhenReady();

  let metricsServer: Server | null = null;
  if (!p.metricsPath || p.metricsPortToo) {
    const mApp = new Hono();
    mApp.use("*", async (_c, next) => (faults.reset ? connectionReset() : next()));
    mApp.get("/metrics", metricsHandler);
    mApp.notFound(() => new Response("", { status: 404 }));
    metricsServer = serve({
      hostname: host,
      port: options.metricsPort ?? 0,
      fetch: (req) => mApp.fetch(req),
    });
  }
  const urlHost =
    host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;
  const base = `http://${urlHost}:${port}`;

  const engine: MockEngine = {
    engine: opts.engine,
    url: base,
    metricsUrl: p.metricsPath ? `${base}${p.metricsPath}` : `${metricsServer!.url}/metrics`,
    metricsPortUrl: metricsServer ? `${metricsServer.url}/metrics` : null,
    port,
    async stop() {
      stopping.abort();
      clearTimeout(upTimer);
      await Promise.all([main?.stop(METRICS_GRACE_MS), metricsServer?.stop(METRICS_GRACE_MS)]);
      main = null;
    },
    async restart(downMs = 500) {
      clearTimeout(upTimer);
      state = new MockState(opts, calls, downMs);
      render = p.createMetrics(state);
      if (silent && downMs > 0) {
        const old = main;
        main = null;
        await old?.stop(METRICS_GRACE_MS);
        listenWhenReady();
      }
    },
    async whenReady() {
      while (!stopping.signal.aborted && (!state.isReady() || (silent && !main))) await delay(10);
    },
    setFault(patch) {
      faults = patch === null ? {} : mergeFaults(faults, patch);
    },
    faults: () => ({ ...faults }),
    counters: () => Object.fromEntries([...calls].map(([k, v]) => [k, { ...v }])),
    loaded: () => Object.fromEntries(state.adapters),
    step(n = 1) {
      for (let i = 0; i < n; i++) state.sim.step();
    },
    simulateRequest(model) {
      state.sim.enqueue(model === opts.model ? null : model);
    },
  };
  return engine;
}

/** A port nothing listens on right now (for engines that must stay silent until "loaded"). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const addr = s.address();
      s.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}
