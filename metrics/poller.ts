// Polls the engine's metrics endpoint(s) on a timer, one poll in flight at most, each with a deadline,
// and keeps an immutable snapshot for /metrics. Scrapes never wait on the engine: a scrape that finds
// the snapshot older than maxAge asks for one coalesced refresh and waits for it only briefly.
import { type Periodic, periodic } from "../lib/periodic.ts";
import type { MetricsMode } from "../config.ts";
import { readTextCapped } from "../lib/capped-body.ts";
import { fullGc } from "../platform/process.ts";
import type { Logger } from "../log.ts";
import type { OwnMetrics } from "./own.ts";
import { createParser, LINES_PER_STEP } from "./parse.ts";
import { buildSnapshot, type EndpointData, type LoraInfo, type Snapshot } from "./snapshot.ts";
import { modelNameIn, standardize } from "./standardize.ts";
import type { Labels, RuleSet } from "./types.ts";

/** The closed `reason` vocabulary of aibrix:engine_scrape_errors_total. */
export const SCRAPE_ERROR_REASONS = [
  "timeout",
  "unreachable",
  "http_status",
  "malformed_lines",
  "too_large",
  "too_many_series",
  "too_many_lines",
] as const;

export interface PollerOptions {
  /** Engine base URLs (INFERENCE_ENGINE_ENDPOINT, comma separated: data-parallel ranks). */
  endpoints: readonly string[];
  /** Metrics path on each endpoint ("/metrics", trtllm "/prometheus/metrics"), or a full URL. */
  path: string;
  mode: MetricsMode;
  rules: RuleSet;
  intervalMs: number;
  maxAgeMs: number;
  staleAfterMs: number;
  /** Largest body read from the engine (bytes); a longer one is cancelled there, a scrape error. */
  maxBytes?: number;
  /** Most samples kept from one scrape (lines: 4x that); more is a scrape error. */
  maxSeries?: number;
  /** Deadline of one poll; default max(interval, 1 s). */
  timeoutMs?: number;
  /** How long a scrape may wait for a refresh it triggered; default 100 ms. */
  refreshWaitMs?: number;
  /** The sidecar's own registry: engine_up, scrape duration and errors are registered there. */
  own: OwnMetrics;
  /** Names of the sidecar's own families (engine families never shadow them). */
  reserved?: () => ReadonlySet<string>;
  /** Adapters the sidecar knows about, for engines that have no LoRA metric. */
  loraInfo?: () => LoraInfo | undefined;
  /** The served model's name, for engines whose metrics have no model_name label (TGI, llama.cpp). */
  resolveModelName?: (signal: AbortSignal) => Promise<string | undefined>;
  log: Logger;
  fetch?: typeof fetch;
  now?: () => number;
}

/** Defaults of AIRUNTIME_METRICS_MAX_BYTES / AIRUNTIME_METRICS_MAX_SERIES (config.ts). */
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_SERIES = 100_000;

/** Thrown inside a scrape that already set its error reason. */
const SKIP = Symbol("skip");

/** Let queued I/O (incoming /metrics requests) run before continuing. */
const yieldToEventLoop = () => new Promise<void>((r) => setTimeout(r, 0));

export interface MetricsPoller {
  /** The latest snapshot (never waits). */
  current(): Snapshot;
  /** The latest snapshot, refreshed first (briefly awaited) when older than maxAge. */
  fresh(): Promise<Snapshot>;
  /** Poll now, or join the poll in flight. */
  refresh(): Promise<Snapshot>;
  start(): void;
  stop(): void;
}

interface EndpointState {
  rank: number;
  url: string;
  up: boolean;
  data?: EndpointData;
  /** The text `data` was parsed from (its verbatim lines point into it anyway). */
  lastText?: string;
  /** The resolved model name when `data` was standardized (a later resolution redoes it). */
  modelNameUsed?: string;
  lastDurationS: number;
}

export function createMetricsPoller(o: PollerOptions): MetricsPoller {
  const now = o.now ?? Date.now;
  const doFetch = o.fetch ?? fetch;
  const timeoutMs = o.timeoutMs ?? Math.max(o.intervalMs, 1000);
  const refreshWaitMs = o.refreshWaitMs ?? 100;
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxSeries = o.maxSeries ?? DEFAULT_MAX_SERIES;
  // A full URL (METRIC_SCRAPE_PATH=http://host:8002/metrics, as AIBrix's urljoin allows) is the one
  // place to scrape, whatever the endpoint list says.
  const urls = /^https?:\/\//.test(o.path)
    ? [o.path]
    : o.endpoints.map((base) => base.replace(/\/+$/, "") + o.path);
  const multi = urls.length > 1;
  const states: EndpointState[] = urls.map((url, rank) => ({ rank, url, up: false, lastDurationS: 0 }));
  const ac = new AbortController();
  let loop: Periodic | undefined;
  let inflight: Promise<Snapshot> | undefined;
  let inflightSince = 0;
  let stopped = false;
  let started = false;
  let modelName: string | undefined;
  let modelNameAsked = 0;
  /** Main-thread milliseconds of the poll in progress (parse, rules, render; fetch excluded). */
  let work = 0;
  let lastWorkS = 0;

  const rankLabels = (s: EndpointState): Labels => (multi ? { rank: String(s.rank) } : {});
  const labelNames = multi ? ["rank"] : [];
  const isUp = (s: EndpointState) =>
    s.up && s.data !== undefined && now() - s.data.scrapedAt <= o.staleAfterMs;
  o.own.gauge({
    name: "aibrix:engine_up",
    help: "1 when the last scrape of the engine's metrics succeeded within the staleness bound, else 0.",
    labelNames,
    collect: () => states.map((s) => ({ labels: rankLabels(s), value: isUp(s) ? 1 : 0 })),
  });
  o.own.gauge({
    name: "aibrix:engine_scrape_duration_seconds",
    help: "Duration of the last scrape of the engine's metrics endpoint, seconds.",
    labelNames,
    collect: () => states.map((s) => ({ labels: rankLabels(s), value: s.lastDurationS })),
  });
  o.own.gauge({
    name: "aibrix:metrics_poll_processing_seconds",
    help: "Main-thread time of the last poll spent parsing, standardizing and rendering (fetch excluded).",
    collect: () => lastWorkS,
  });
  const scrapeErrors = o.own.counter({
    name: "aibrix:engine_scrape_errors_total",
    help: "Failed scrapes of the engine's metrics endpoint, by reason.",
    labelNames: [...labelNames, "reason"],
  });
  // Every reason at 0 from start-up, so `increase()` alerts see 0 rather than no data.
  for (const s of states)
    for (const reason of SCRAPE_ERROR_REASONS) scrapeErrors.inc({ ...rankLabels(s), reason }, 0);

  const build = (): Snapshot =>
    buildSnapshot({
      endpoints: states.flatMap((s) =>
        s.data && now() - s.data.scrapedAt <= o.staleAfterMs ? [s.data] : [],
      ),
      endpointCount: states.length,
      mode: o.mode,
      rules: o.rules,
      reserved: o.reserved?.() ?? new Set(o.own.names()),
      lora: o.loraInfo?.(),
      staleAfterMs: o.staleAfterMs,
      now: now(),
    });
  let snapshot: Snapshot = build();

  async function scrapeOne(s: EndpointState): Promise<void> {
    const t0 = performance.now();
    const deadline = AbortSignal.timeout(timeoutMs);
    let reason: (typeof SCRAPE_ERROR_REASONS)[number] | undefined;
    try {
      const res = await doFetch(s.url, {
        headers: { accept: "text/plain;version=0.0.4;q=1,*/*;q=0.1" },
        signal: AbortSignal.any([ac.signal, deadline]),
        redirect: "manual", // an engine's redirect is not followed (a scrape error, never another host)
      });
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => {});
        reason = "http_status";
        o.log.debug("engine metrics answered non-200", { url: s.url, status: res.status });
        throw SKIP;
      }
      // Never more than maxBytes of it in memory: a huge or endless body is cut off, the last good data stays.
      const { text, over } = await readTextCapped(res, maxBytes);
      if (over) {
        reason = "too_large";
        o.log.debug("engine metrics body over the cap", { url: s.url, maxBytes });
        // Up to maxBytes of garbage was just dropped: collect it now rather than let the next ones pile up.
        fullGc();
      } else if (s.data && text === s.lastText && s.modelNameUsed === modelName) {
        // An idle engine serves the same text poll after poll: nothing to parse again.
        s.data = { ...s.data, scrapedAt: now() };
      } else {
        s.lastText = text;
        s.modelNameUsed = modelName;
        // Parsed in steps with a macrotask between them: scrapes of /metrics never wait behind a big parse.
        const parser = createParser(text, {
          openMetrics: (res.headers.get("content-type") ?? "").includes("openmetrics") ? true : undefined,
          maxSeries,
          maxLines: 4 * maxSeries,
        });
        let c0 = performance.now();
        while (!parser.step(LINES_PER_STEP)) {
          work += performance.now() - c0;
          await yieldToEventLoop();
          c0 = performance.now();
        }
        const parsed = parser.result();
        if (parsed.overflow) {
          // Too many series (or lines) to be an engine's exposition: keep the last good data.
          s.lastText = undefined;
          work += performance.now() - c0;
          reason = parsed.overflow === "series" ? "too_many_series" : "too_many_lines";
          o.log.debug("engine metrics over the cap", { url: s.url, reason, maxSeries });
          throw SKIP;
        }
        if (parsed.errorCount > 0) {
          scrapeErrors.inc({ ...rankLabels(s), reason: "malformed_lines" }, 1);
          o.log.debug("engine metrics had malformed lines", {
            count: parsed.errorCount,
            first: parsed.errors,
          });
        }
        const standard =
          o.mode === "raw"
            ? []
            : standardize(parsed.byName, o.rules, {
                modelName: modelNameIn(parsed.families, o.rules.modelLabel ?? "model_name") ?? modelName,
              });
        s.data = { rank: s.rank, raw: parsed.families, standard, scrapedAt: now() };
        work += performance.now() - c0;
        if (!modelName && o.resolveModelName && o.mode !== "raw" && !modelNameIn(parsed.families))
          askModelName();
      }
    } catch (e) {
      if (e !== SKIP) {
        reason = deadline.aborted ? "timeout" : ac.signal.aborted ? undefined : "unreachable";
        if (reason) o.log.debug("engine metrics scrape failed", { url: s.url, reason, error: String(e) });
      }
    }
    s.lastDurationS = (performance.now() - t0) / 1000;
    const wasUp = s.up;
    s.up = reason === undefined;
    if (reason) scrapeErrors.inc({ ...rankLabels(s), reason });
    if (wasUp !== s.up && !stopped)
      o.log[s.up ? "info" : "warn"](s.up ? "engine metrics reachable" : "engine metrics unreachable", {
        url: s.url,
        reason,
      });
  }

  function askModelName(): void {
    if (now() - modelNameAsked < 5000) return;
    modelNameAsked = now();
    o.resolveModelName!(ac.signal).then(
      (n) => {
        if (n) modelName = n;
      },
      () => {},
    );
  }

  function refresh(): Promise<Snapshot> {
    if (inflight) return inflight;
    inflightSince = now();
    work = 0;
    inflight = Promise.all(states.map(scrapeOne))
      .then(() => {
        const c0 = performance.now();
        snapshot = build();
        lastWorkS = (work + performance.now() - c0) / 1000;
        return snapshot;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  return {
    current: () => snapshot,
    async fresh() {
      const t = now();
      // An endpoint went stale since the snapshot was built: drop its families right away.
      if (t > snapshot.expiresAt) snapshot = build();
      if (t - snapshot.builtAt <= o.maxAgeMs) return snapshot;
      const p = refresh();
      const waited = t - inflightSince;
      if (waited >= refreshWaitMs || !states.some((s) => s.up)) return snapshot;
      let to: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([p, new Promise((r) => (to = setTimeout(r, refreshWaitMs - waited)))]);
      clearTimeout(to);
      return snapshot;
    },
    refresh,
    start() {
      if (started || stopped) return;
      started = true;
      loop = periodic(refresh, (took) => o.intervalMs - took, {
        immediate: true,
        unref: true,
        now,
        onError: (e) => o.log.error("metrics poll failed", { error: e }),
      });
    },
    stop() {
      stopped = true;
      loop?.stop();
      ac.abort();
    },
  };
}
