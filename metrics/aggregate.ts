// Combining series: duplicates inside one rule's output, and the same family from several endpoints
// (data-parallel ranks). Counters and histogram buckets add up; gauges follow the rule's aggregation.
import type { Aggregation, Labels, MetricFamily, Sample } from "./types.ts";

/** A stable key for a label set (order-independent). */
export function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  if (keys.length > 1) keys.sort();
  let k = "";
  for (const n of keys) k += n + "\u0001" + labels[n] + "\u0002";
  return k;
}

/** Merge samples with the same name and labels, in first-seen order. */
export function combineSamples(samples: readonly Sample[], op: Aggregation): Sample[] {
  const byKey = new Map<string, { sample: Sample; n: number }>();
  for (const s of samples) {
    const key = s.name + "\u0000" + labelKey(s.labels);
    const prev = byKey.get(key);
    if (!prev) {
      byKey.set(key, { sample: { ...s }, n: 1 });
      continue;
    }
    const p = prev.sample;
    p.line = undefined; // the value changes: render from the model
    prev.n++;
    if (op === "max") p.value = Math.max(p.value, s.value);
    else p.value += s.value;
    if (s.timestampMs !== undefined) p.timestampMs = Math.max(p.timestampMs ?? 0, s.timestampMs);
  }
  const out: Sample[] = [];
  for (const { sample, n } of byKey.values()) {
    if (op === "mean" && n > 1) sample.value /= n;
    out.push(sample);
  }
  return out;
}

/** Fold families of the same name into one; samples combined with `opFor(family)`. */
export function mergeFamilies(
  lists: ReadonlyArray<readonly MetricFamily[]>,
  opFor: (f: MetricFamily) => Aggregation,
): MetricFamily[] {
  if (lists.length === 1) return [...lists[0]!];
  const merged = new Map<string, MetricFamily>();
  for (const list of lists)
    for (const f of list) {
      const prev = merged.get(f.name);
      if (prev) prev.samples = prev.samples.concat(f.samples);
      else merged.set(f.name, { ...f, samples: [...f.samples] });
    }
  const out: MetricFamily[] = [];
  for (const f of merged.values()) {
    const op = f.type === "counter" || f.type === "histogram" ? "sum" : opFor(f);
    out.push({ ...f, samples: combineSamples(f.samples, op) });
  }
  return out;
}

/** Passthrough of several endpoints: every sample gets `rank="<i>"`, families of the same name merged. */
export function withRank(families: readonly MetricFamily[], rank: number): MetricFamily[] {
  const r = String(rank);
  return families.map((f) => ({
    ...f,
    samples: f.samples.map((s) => {
      const out: Sample = { name: s.name, labels: { ...s.labels, rank: r }, value: s.value };
      if (s.timestampMs !== undefined) out.timestampMs = s.timestampMs;
      return out;
    }),
  }));
}
