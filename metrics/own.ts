// The sidecar's own metrics: a tiny registry of counters, gauges and histograms with labels.
//
//   const loads = ownMetrics.counter({ name: "aibrix:lora_loads_total", help: "...", labelNames: ["result"] });
//   loads.inc({ result: "ok" });
//   const dur = ownMetrics.histogram({ name: "aibrix:lora_load_duration_seconds", help: "...", buckets: [0.1, 1] });
//   dur.observe({}, 0.42);
//   ownMetrics.gauge({ name: "aibrix:lora_adapters_loaded", help: "...", collect: () => registry.size });
//
// `ownMetrics` is the process-wide default; `createOwnMetrics()` makes a private one (one per sidecar in
// tests). Registering the same name twice with the same shape returns the existing metric, so modules
// can register at import or per instance without coordination.
import { reportOnce } from "../lib/report-once.ts";
import { type ExpositionFormat, renderFamilies } from "./render.ts";
import type { Logger } from "../log.ts";
import type { Labels, MetricFamily, Sample } from "./types.ts";

export interface MetricOpts {
  name: string;
  help: string;
  labelNames?: readonly string[];
}

export interface Counter {
  inc(labels?: Labels, n?: number): void;
  /** Current value of one series (0 when never incremented); for tests. */
  get(labels?: Labels): number;
}

export interface Gauge {
  set(labels: Labels, v: number): void;
  inc(labels?: Labels, n?: number): void;
  dec(labels?: Labels, n?: number): void;
  /** Drop one series (e.g. an adapter that was unloaded). */
  remove(labels: Labels): void;
  get(labels?: Labels): number | undefined;
}

/** A collect callback returns the gauge's value (no labels) or its series at render time. */
export type GaugeCollect = () => number | ReadonlyArray<{ labels: Labels; value: number }>;

export interface Histogram {
  observe(labels: Labels, v: number): void;
  /** Start a timer; calling the result observes the elapsed seconds. */
  startTimer(labels?: Labels): () => number;
}

/** Prometheus client default buckets (seconds). */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Entry {
  type: "counter" | "gauge" | "histogram";
  name: string;
  help: string;
  labelNames: readonly string[];
  buckets?: readonly number[];
  metric: Counter | Gauge | Histogram;
  families(): MetricFamily[];
}

export interface OwnMetrics {
  counter(o: MetricOpts): Counter;
  gauge(o: MetricOpts & { collect?: GaugeCollect }): Gauge;
  histogram(o: MetricOpts & { buckets?: readonly number[] }): Histogram;
  /** Current families, in registration order. */
  families(): MetricFamily[];
  /** Family names registered so far. */
  names(): string[];
  render(format?: ExpositionFormat): string;
  /** Where a failing gauge collector is reported (once per failure run, with its cause); default nowhere. */
  setLogger(log: Pick<Logger, "warn">): void;
}

export function createOwnMetrics(): OwnMetrics {
  const entries = new Map<string, Entry>();
  let log: Pick<Logger, "warn"> | undefined;
  /** A failing collector is logged when it starts failing, not on every scrape. */
  const failures = reportOnce("metric collector failed; the gauge is left out until it recovers", "metric");

  function register<M extends Counter | Gauge | Histogram>(
    type: Entry["type"],
    o: MetricOpts,
    buckets: readonly number[] | undefined,
    make: (labelNames: readonly string[]) => Omit<Entry, "type" | "name" | "help" | "labelNames" | "buckets">,
  ): M {
    const labelNames = o.labelNames ?? [];
    if (!METRIC_NAME.test(o.name)) throw new Error(`metric name '${o.name}' is not a valid Prometheus name`);
    for (const l of labelNames)
      if (!LABEL_NAME.test(l) || l.startsWith("__") || (type === "histogram" && l === "le"))
        throw new Error(`metric '${o.name}': label name '${l}' is not allowed`);
    const existing = entries.get(o.name);
    if (existing) {
      const same =
        existing.type === type &&
        existing.labelNames.join(",") === labelNames.join(",") &&
        (buckets === undefined || existing.buckets?.join(",") === buckets.join(","));
      if (!same) throw new Error(`metric '${o.name}' is already registered with another type or labels`);
      return existing.metric as M;
    }
    const entry: Entry = { type, name: o.name, help: o.help, labelNames, buckets, ...make(labelNames) };
    entries.set(o.name, entry);
    return entry.metric as M;
  }

  const self: OwnMetrics = {
    counter(o) {
      const name = o.name.endsWith("_total") ? o.name : `${o.name}_total`;
      return register<Counter>("counter", { ...o, name }, undefined, (labelNames) => {
        const series = new Map<string, { labels: Labels; value: number }>();
        const metric: Counter = {
          inc(labels = {}, n = 1) {
            if (!(n >= 0)) throw new Error(`counter '${name}': increment must be >= 0 (got ${n})`);
            const { key, clean } = seriesKey(name, labelNames, labels);
            const s = series.get(key);
            if (s) s.value += n;
            else series.set(key, { labels: clean, value: n });
          },
          get(labels = {}) {
            return series.get(seriesKey(name, labelNames, labels).key)?.value ?? 0;
          },
        };
        return {
          metric,
          families: () => [
            {
              name,
              type: "counter",
              help: o.help,
              samples: [...series.values()].map((s) => ({ name, labels: s.labels, value: s.value })),
            },
          ],
        };
      });
    },

    gauge(o) {
      return register<Gauge>("gauge", o, undefined, (labelNames) => {
        const series = new Map<string, { labels: Labels; value: number }>();
        const at = (labels: Labels) => {
          const { key, clean } = seriesKey(o.name, labelNames, labels);
          let s = series.get(key);
          if (!s) {
            s = { labels: clean, value: 0 };
            series.set(key, s);
          }
          return s;
        };
        const metric: Gauge = {
          set: (labels, v) => {
            at(labels).value = v;
          },
          inc: (labels = {}, n = 1) => {
            at(labels).value += n;
          },
          dec: (labels = {}, n = 1) => {
            at(labels).value -= n;
          },
          remove: (labels) => {
            series.delete(seriesKey(o.name, labelNames, labels).key);
          },
          get: (labels = {}) => series.get(seriesKey(o.name, labelNames, labels).key)?.value,
        };
        const collected = (): Array<{ labels: Labels; value: number }> => {
          if (!o.collect) return [...series.values()];
          try {
            const r = o.collect();
            const out =
              typeof r === "number"
                ? [{ labels: {}, value: r }]
                : r.map((s) => ({ labels: seriesKey(o.name, labelNames, s.labels).clean, value: s.value }));
            failures.ok(log, o.name);
            return out;
          } catch (e) {
            // A failing collector must not take /metrics down: its gauge has no samples, and it is logged once.
            failures.failed(log, o.name, e);
            return [];
          }
        };
        return {
          metric,
          families: () => [
            {
              name: o.name,
              type: "gauge",
              help: o.help,
              samples: collected().map((s) => ({ name: o.name, labels: s.labels, value: s.value })),
            },
          ],
        };
      });
    },

    histogram(o) {
      const buckets = [...(o.buckets ?? DEFAULT_BUCKETS)].sort((a, b) => a - b);
      return register<Histogram>("histogram", o, buckets, (labelNames) => {
        const series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
        const metric: Histogram = {
          observe(labels, v) {
            const { key, clean } = seriesKey(o.name, labelNames, labels);
            let s = series.get(key);
            if (!s) {
              s = { labels: clean, counts: new Array(buckets.length).fill(0), sum: 0, count: 0 };
              series.set(key, s);
            }
            for (let i = 0; i < buckets.length; i++)
              if (v <= buckets[i]!) {
                s.counts[i]!++;
                break;
              }
            s.sum += v;
            s.count++;
          },
          startTimer(labels = {}) {
            const t0 = performance.now();
            return () => {
              const seconds = (performance.now() - t0) / 1000;
              metric.observe(labels, seconds);
              return seconds;
            };
          },
        };
        return {
          metric,
          families: () => {
            const samples: Sample[] = [];
            for (const s of series.values()) {
              let cumulative = 0;
              for (let i = 0; i < buckets.length; i++) {
                cumulative += s.counts[i]!;
                samples.push({
                  name: `${o.name}_bucket`,
                  labels: { ...s.labels, le: String(buckets[i]) },
                  value: cumulative,
                });
              }
              samples.push({ name: `${o.name}_bucket`, labels: { ...s.labels, le: "+Inf" }, value: s.count });
              samples.push({ name: `${o.name}_sum`, labels: s.labels, value: s.sum });
              samples.push({ name: `${o.name}_count`, labels: s.labels, value: s.count });
            }
            return [{ name: o.name, type: "histogram", help: o.help, samples }];
          },
        };
      });
    },

    families() {
      const out: MetricFamily[] = [];
      for (const e of entries.values()) out.push(...e.families());
      return out;
    },
    names() {
      return [...entries.keys()];
    },
    render(format = "text") {
      return renderFamilies(self.families(), format);
    },
    setLogger(l) {
      log = l;
    },
  };
  return self;
}

/** Series key and the labels in declared order; unknown label names are a programming error. */
function seriesKey(
  metric: string,
  labelNames: readonly string[],
  labels: Labels,
): { key: string; clean: Labels } {
  const clean: Labels = {};
  let key = "";
  for (const l of labelNames) {
    const v = labels[l] ?? "";
    clean[l] = v;
    key += v + "\u0000";
  }
  for (const k in labels)
    if (!labelNames.includes(k)) throw new Error(`metric '${metric}': unknown label '${k}'`);
  return { key, clean };
}

/** The process-wide registry. Other modules register their metrics here. */
export const ownMetrics: OwnMetrics = createOwnMetrics();
