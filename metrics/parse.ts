// Prometheus text 0.0.4 and OpenMetrics 1.0 parser into the family model of metrics/types.ts.
//
// Tolerant by design: a bad line is skipped and counted, never thrown; duplicate HELP/TYPE lines keep
// the first; samples without TYPE become untyped families; a family split across the text is merged,
// so the output never holds a family twice. Linear time, no regex backtracking: a hand-written scanner.
// OpenMetrics input (detected by its `# EOF` line, or forced) is normalized to the 0.0.4 form:
// counter family `x` -> `x_total`, `_created` samples -> their own gauge family, info `x` -> gauge
// `x_info`, stateset -> gauge, unknown -> untyped, timestamps seconds -> milliseconds.
import type { Labels, MetricFamily, MetricType, Sample } from "./types.ts";

export interface ParseResult {
  families: MetricFamily[];
  byName: Map<string, MetricFamily>;
  /** Number of lines skipped as malformed. */
  errorCount: number;
  /** The first few problems, for logs. */
  errors: string[];
}

export interface ParseOptions {
  /** Force OpenMetrics (true) or text 0.0.4 (false); default: detect by a trailing `# EOF` line. */
  openMetrics?: boolean;
}

const MAX_ERRORS_KEPT = 5;

type DeclaredType = MetricType | "info" | "stateset" | "gaugehistogram" | "unknown";

const TYPES = new Set<string>([
  "counter",
  "gauge",
  "histogram",
  "summary",
  "untyped",
  "info",
  "stateset",
  "gaugehistogram",
  "unknown",
]);

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}
function isLabelChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57);
}

export function parseNumber(s: string): number | undefined {
  if (s.length === 0) return undefined;
  switch (s) {
    case "+Inf":
    case "Inf":
    case "+inf":
    case "inf":
      return Number.POSITIVE_INFINITY;
    case "-Inf":
    case "-inf":
      return Number.NEGATIVE_INFINITY;
    case "NaN":
    case "nan":
      return Number.NaN;
  }
  const n = Number(s);
  if (Number.isNaN(n)) return undefined;
  // Number() accepts things Prometheus does not (whitespace, "0b1"); reject the obvious ones.
  const c = s.charCodeAt(0);
  if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)) return undefined;
  return n;
}

function unescapeText(s: string, quoteEscapes: boolean): string {
  if (s.indexOf("\\") < 0) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === "\\" && i + 1 < s.length) {
      const n = s[i + 1]!;
      if (n === "n") {
        out += "\n";
        i++;
        continue;
      }
      if (n === "\\" || (quoteEscapes && n === '"')) {
        out += n;
        i++;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

const SUFFIXES: Record<string, readonly string[]> = {
  histogram: ["_bucket", "_sum", "_count", "_created"],
  gaugehistogram: ["_bucket", "_gsum", "_gcount"],
  summary: ["_sum", "_count", "_created"],
  counter: ["_total", "_created"],
  info: ["_info"],
};

interface Draft {
  name: string;
  type: DeclaredType;
  help: string | undefined;
  samples: Sample[];
  /** A TYPE line was seen for it. */
  typed: boolean;
}

export function parseExposition(text: string, opts: ParseOptions = {}): ParseResult {
  const openMetrics = opts.openMetrics ?? /(^|\n)# EOF\r?(\n|$)/.test(text);
  const drafts = new Map<string, Draft>();
  const order: Draft[] = [];
  const errors: string[] = [];
  let errorCount = 0;
  let current: Draft | undefined;

  const fail = (lineNo: number, why: string, line: string) => {
    errorCount++;
    if (errors.length < MAX_ERRORS_KEPT) errors.push(`line ${lineNo}: ${why}: ${line.slice(0, 120)}`);
  };
  const draftFor = (name: string): Draft => {
    let d = drafts.get(name);
    if (!d) {
      d = { name, type: "untyped", help: undefined, samples: [], typed: false };
      drafts.set(name, d);
      order.push(d);
    }
    return d;
  };
  /** Which family a sample name belongs to: the current one, a declared one by suffix, or its own. */
  const familyOf = (sampleName: string): Draft => {
    if (current && belongs(current, sampleName)) return current;
    const exact = drafts.get(sampleName);
    if (exact && (exact.typed || exact.samples.length > 0)) {
      if (exact.type !== "histogram" && exact.type !== "summary") return exact;
    }
    const us = sampleName.lastIndexOf("_");
    if (us > 0) {
      const base = drafts.get(sampleName.slice(0, us));
      if (base && belongs(base, sampleName)) return base;
    }
    return exact ?? draftFor(sampleName);
  };

  let lineNo = 0;
  let start = 0;
  const len = text.length;
  while (start < len) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = len;
    let line = text.slice(start, end);
    start = end + 1;
    lineNo++;
    if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    if (line.length === 0) continue;

    if (line.charCodeAt(0) === 35 /* # */) {
      // "# HELP name text", "# TYPE name type", "# UNIT name unit", "# EOF"; other comments ignored.
      let i = 1;
      while (i < line.length && line.charCodeAt(i) === 32) i++;
      const kwEnd = line.indexOf(" ", i);
      const kw = kwEnd < 0 ? line.slice(i) : line.slice(i, kwEnd);
      if (kw === "EOF") break;
      if (kw !== "HELP" && kw !== "TYPE" && kw !== "UNIT") continue;
      if (kwEnd < 0) {
        fail(lineNo, `${kw} without a metric name`, line);
        continue;
      }
      let j = kwEnd;
      while (j < line.length && line.charCodeAt(j) === 32) j++;
      const nameStart = j;
      if (j >= line.length || !isNameStart(line.charCodeAt(j))) {
        fail(lineNo, `${kw} with an invalid metric name`, line);
        continue;
      }
      while (j < line.length && isNameChar(line.charCodeAt(j))) j++;
      const name = line.slice(nameStart, j);
      if (j < line.length && line.charCodeAt(j) !== 32 && line.charCodeAt(j) !== 9) {
        fail(lineNo, `${kw} with an invalid metric name`, line);
        continue;
      }
      const rest = j < line.length ? line.slice(j + 1) : "";
      if (kw === "UNIT") continue;
      const d = draftFor(name);
      if (kw === "HELP") {
        if (d.help === undefined) d.help = unescapeText(rest, openMetrics);
      } else {
        const t = rest.trim();
        if (!TYPES.has(t)) {
          fail(lineNo, `unknown metric type '${t}'`, line);
          continue;
        }
        if (!d.typed) {
          d.type = t as DeclaredType;
          d.typed = true;
        }
      }
      current = d;
      continue;
    }

    // Sample line: name [{labels}] value [timestamp] [# exemplar]
    const c0 = line.charCodeAt(0);
    if (!isNameStart(c0)) {
      fail(lineNo, "not a sample, comment or blank line", line);
      continue;
    }
    let i = 1;
    while (i < line.length && isNameChar(line.charCodeAt(i))) i++;
    const name = line.slice(0, i);
    const labels: Labels = {};
    let bad: string | undefined;
    if (i < line.length && line.charCodeAt(i) === 123 /* { */) {
      i++;
      for (;;) {
        while (i < line.length && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
        if (i >= line.length) {
          bad = "unterminated label set";
          break;
        }
        if (line.charCodeAt(i) === 125 /* } */) {
          i++;
          break;
        }
        const ls = i;
        while (i < line.length && isLabelChar(line.charCodeAt(i))) i++;
        if (i === ls || (line.charCodeAt(ls) >= 48 && line.charCodeAt(ls) <= 57)) {
          bad = "invalid label name";
          break;
        }
        const lname = line.slice(ls, i);
        while (i < line.length && line.charCodeAt(i) === 32) i++;
        if (line.charCodeAt(i) !== 61 /* = */) {
          bad = `label '${lname}' without '='`;
          break;
        }
        i++;
        while (i < line.length && line.charCodeAt(i) === 32) i++;
        if (line.charCodeAt(i) !== 34 /* " */) {
          bad = `label '${lname}' value not quoted`;
          break;
        }
        i++;
        const vs = i;
        let escaped = false;
        while (i < line.length) {
          const ch = line.charCodeAt(i);
          if (ch === 92 /* \ */) {
            escaped = true;
            i += 2;
            continue;
          }
          if (ch === 34) break;
          i++;
        }
        if (i >= line.length) {
          bad = `label '${lname}' value not terminated`;
          break;
        }
        const raw = line.slice(vs, i);
        i++;
        if (lname in labels) {
          bad = `duplicate label '${lname}'`;
          break;
        }
        labels[lname] = escaped ? unescapeText(raw, true) : raw;
        while (i < line.length && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
        if (line.charCodeAt(i) === 44 /* , */) i++;
        else if (line.charCodeAt(i) !== 125) {
          bad = "expected ',' or '}' in label set";
          break;
        }
      }
    }
    if (bad) {
      fail(lineNo, bad, line);
      continue;
    }
    if (i >= line.length || (line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9)) {
      fail(lineNo, "missing value", line);
      continue;
    }
    while (i < line.length && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
    let ve = i;
    while (ve < line.length && line.charCodeAt(ve) !== 32 && line.charCodeAt(ve) !== 9) ve++;
    const value = parseNumber(line.slice(i, ve));
    if (value === undefined) {
      fail(lineNo, "invalid value", line);
      continue;
    }
    let timestampMs: number | undefined;
    let k = ve;
    while (k < line.length && (line.charCodeAt(k) === 32 || line.charCodeAt(k) === 9)) k++;
    if (k < line.length && line.charCodeAt(k) !== 35 /* exemplar */) {
      let te = k;
      while (te < line.length && line.charCodeAt(te) !== 32 && line.charCodeAt(te) !== 9) te++;
      const ts = parseNumber(line.slice(k, te));
      if (ts === undefined || !Number.isFinite(ts)) {
        fail(lineNo, "invalid timestamp", line);
        continue;
      }
      timestampMs = openMetrics ? Math.round(ts * 1000) : ts;
      let r = te;
      while (r < line.length && (line.charCodeAt(r) === 32 || line.charCodeAt(r) === 9)) r++;
      if (r < line.length && line.charCodeAt(r) !== 35) {
        fail(lineNo, "unexpected text after the timestamp", line);
        continue;
      }
    }
    const fam = familyOf(name);
    current = fam;
    const sample: Sample = { name, labels, value };
    if (timestampMs !== undefined) sample.timestampMs = timestampMs;
    fam.samples.push(sample);
  }

  return finish(order, errorCount, errors);
}

function belongs(d: Draft, sampleName: string): boolean {
  if (sampleName === d.name) return d.type !== "info";
  if (!sampleName.startsWith(d.name)) return false;
  const suffix = sampleName.slice(d.name.length);
  return (SUFFIXES[d.type] ?? []).includes(suffix);
}

/** Normalize declared types to the 0.0.4 model and split OpenMetrics `_created` samples out. */
function finish(order: Draft[], errorCount: number, errors: string[]): ParseResult {
  const families: MetricFamily[] = [];
  const byName = new Map<string, MetricFamily>();
  const add = (f: MetricFamily) => {
    const prev = byName.get(f.name);
    if (prev) {
      prev.samples.push(...f.samples);
      return;
    }
    byName.set(f.name, f);
    families.push(f);
  };
  for (const d of order) {
    const help = d.help ?? "";
    if (d.samples.length === 0 && !d.typed && d.help === undefined) continue;
    const created = d.samples.filter((s) => s.name === `${d.name}_created`);
    const rest = created.length > 0 ? d.samples.filter((s) => s.name !== `${d.name}_created`) : d.samples;
    switch (d.type) {
      case "counter": {
        // OpenMetrics: family `x`, samples `x_total` -> 0.0.4 family `x_total`.
        const total = `${d.name}_total`;
        const name = rest.length > 0 && rest.every((s) => s.name === total) ? total : d.name;
        add({ name, type: "counter", help, samples: rest });
        break;
      }
      case "info":
        add({ name: `${d.name}_info`, type: "gauge", help, samples: rest });
        break;
      case "stateset":
        add({ name: d.name, type: "gauge", help, samples: rest });
        break;
      case "unknown":
      case "gaugehistogram":
        add({ name: d.name, type: "untyped", help, samples: rest });
        break;
      default:
        add({ name: d.name, type: d.type, help, samples: rest });
    }
    if (created.length > 0) add({ name: `${d.name}_created`, type: "gauge", help, samples: created });
  }
  return { families, byName, errorCount, errors };
}
