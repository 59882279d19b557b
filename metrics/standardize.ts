// Apply one engine's rules (metrics/rules.ts) to a parsed exposition: the `aibrix:*` families.
// Pure: parsed families + rules + the model name in, new families out; the input is never mutated.
import { combineSamples, labelKey } from "./aggregate.ts";
import { parseNumber } from "./parse.ts";
import type { Labels, MetricFamily, MetricRule, RuleSet, Sample, SourceRef } from "./types.ts";

export interface StandardizeContext {
  /** The served model, for engines whose metrics carry no model_name label (TGI, llama.cpp). */
  modelName?: string;
}

const DEFAULT_KEEP = ["model_name", "engine"];
const HISTOGRAM_SUFFIXES = new Set(["_bucket", "_sum", "_count"]);

function matches(labels: Labels, match: Labels | undefined): boolean {
  if (!match) return true;
  for (const k in match) if (labels[k] !== match[k]) return false;
  return true;
}

function selected(byName: ReadonlyMap<string, MetricFamily>, ref: SourceRef): MetricFamily | undefined {
  const f = byName.get(ref.family);
  if (!f || f.samples.length === 0) return undefined;
  if (!ref.match) return f;
  const samples = f.samples.filter((s) => matches(s.labels, ref.match));
  return samples.length === 0 ? undefined : { ...f, samples };
}

/** The model_name the engine itself reports anywhere in the exposition (vLLM, SGLang, trtllm). */
export function modelNameIn(
  families: readonly MetricFamily[],
  modelLabel = "model_name",
): string | undefined {
  for (const f of families)
    for (const s of f.samples) {
      const v = s.labels[modelLabel];
      if (v !== undefined && v !== "") return v;
    }
  return undefined;
}

export function standardize(
  byName: ReadonlyMap<string, MetricFamily>,
  set: RuleSet,
  ctx: StandardizeContext = {},
): MetricFamily[] {
  const out: MetricFamily[] = [];
  for (const rule of set.rules) {
    const f = applyRule(byName, rule, set, ctx);
    if (f && f.samples.length > 0) out.push(f);
  }
  return out;
}

function applyRule(
  byName: ReadonlyMap<string, MetricFamily>,
  rule: MetricRule,
  set: RuleSet,
  ctx: StandardizeContext,
): MetricFamily | undefined {
  const plain = !rule.dropLabels && rule.kind !== "label" && set.modelLabel === undefined;
  const labelsFor = (l: Labels): Labels => {
    // Nothing to drop, rename or add: share the engine's label object (samples are never mutated).
    if (plain && (l.model_name !== undefined || rule.noModelName || ctx.modelName === undefined)) return l;
    const out: Labels = {};
    const keep = rule.kind === "label" ? (rule.keepLabels ?? DEFAULT_KEEP) : undefined;
    for (const k in l) {
      if (rule.dropLabels?.includes(k)) continue;
      const name = k === set.modelLabel ? "model_name" : k;
      if (keep && !keep.includes(name)) continue;
      out[name] = l[k]!;
    }
    if (!rule.noModelName && out.model_name === undefined && ctx.modelName !== undefined)
      out.model_name = ctx.modelName;
    return out;
  };
  const family = (type: MetricFamily["type"], samples: Sample[]): MetricFamily => ({
    name: rule.target,
    type,
    help: rule.help,
    // Only dropped labels or summed sources can make two series collide.
    samples:
      plain && rule.kind !== "sum"
        ? samples
        : combineSamples(samples, type === "gauge" ? (rule.aggregate ?? "sum") : "sum"),
  });

  if (rule.kind === "sum") {
    const samples: Sample[] = [];
    for (const ref of rule.sources) {
      const src = selected(byName, ref);
      if (src)
        for (const s of src.samples)
          samples.push({ name: rule.target, labels: labelsFor(s.labels), value: s.value });
    }
    return samples.length === 0 ? undefined : family(rule.type ?? "counter", samples);
  }

  let src: MetricFamily | undefined;
  for (const ref of rule.sources) {
    src = selected(byName, ref);
    if (src) break;
  }
  if (!src) return undefined;

  switch (rule.kind) {
    case "copy": {
      const type = rule.type ?? src.type;
      const isHist = src.type === "histogram";
      if ((type === "histogram") !== isHist) return undefined; // the engine changed its type: skip, never lie
      const d = rule.divideBy;
      const samples: Sample[] = [];
      for (const s of src.samples) {
        let name = rule.target;
        let value = s.value;
        let labels = labelsFor(s.labels);
        if (isHist) {
          const suffix = s.name.slice(src.name.length);
          if (!HISTOGRAM_SUFFIXES.has(suffix)) continue;
          name = rule.target + suffix;
          if (d && suffix === "_sum") value = s.value / d;
          if (d && suffix === "_bucket" && labels.le !== undefined && labels.le !== "+Inf") {
            const le = parseNumber(labels.le);
            if (le !== undefined) labels = { ...labels, le: String(le / d) };
          }
        } else if (d) value = s.value / d;
        const out: Sample = { name, labels, value };
        if (s.timestampMs !== undefined) out.timestampMs = s.timestampMs;
        // A pure rename of a verbatim line: the new line is the new name plus the old line's tail.
        if (s.line !== undefined && labels === s.labels && value === s.value)
          out.line = name + s.line.slice(s.name.length);
        samples.push(out);
      }
      return family(type, samples);
    }
    case "invert": {
      const samples: Sample[] = [];
      for (const s of src.samples)
        if (s.value > 0 && Number.isFinite(s.value))
          samples.push({ name: rule.target, labels: labelsFor(s.labels), value: 1 / s.value });
      return family("gauge", samples);
    }
    case "fromSum":
    case "fromCount": {
      const want = src.name + (rule.kind === "fromSum" ? "_sum" : "_count");
      const samples = src.samples
        .filter((s) => s.name === want)
        .map((s) => ({ name: rule.target, labels: labelsFor(s.labels), value: s.value }));
      return family("counter", samples);
    }
    case "label": {
      const samples: Sample[] = [];
      for (const s of src.samples) {
        const v = parseNumber(s.labels[rule.label!] ?? "");
        if (v !== undefined && Number.isFinite(v))
          samples.push({ name: rule.target, labels: labelsFor(s.labels), value: v });
      }
      return family("gauge", samples);
    }
    case "ratio": {
      const den = rule.denominator ? selected(byName, rule.denominator) : undefined;
      if (!den) return undefined;
      const denominators = new Map<string, number>();
      for (const s of den.samples) denominators.set(labelKey(labelsFor(s.labels)), s.value);
      const samples: Sample[] = [];
      for (const s of src.samples) {
        const labels = labelsFor(s.labels);
        const dv = denominators.get(labelKey(labels));
        if (dv !== undefined && dv > 0) samples.push({ name: rule.target, labels, value: s.value / dv });
      }
      return family("gauge", samples);
    }
  }
}
