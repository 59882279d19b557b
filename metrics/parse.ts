// Prometheus text 0.0.4 and OpenMetrics 1.0 parser into the family model of metrics/types.ts.
//
// Tolerant by design: a bad line is skipped and counted, never thrown; duplicate HELP/TYPE lines keep
// the first; samples without TYPE become untyped families; a family split across the text is merged,
// so the output never holds a family twice. Linear time, no regex backtracking: a hand-written scanner.
// OpenMetrics input (detected by its `# EOF` line, or forced) is normalized to the 0.0.4 form:
// counter family `x` -> `x_total`, `_created` samples -> their own gauge family, info `x` -> gauge
// `x_info`, stateset -> gauge, unknown -> untyped, timestamps seconds -> milliseconds.
//
// The text comes from the engine, which we do not trust: inside a family only samples named like the family
// (plus the suffixes its type allows) are accepted, reserved labels (`__name__`, any `__*`) are dropped, and
// the caller may cap lines and series (`overflow` says which cap stopped the parse).
import type { Labels, MetricFamily, MetricType, Sample } from "./types.ts";

export interface ParseResult {
  families: MetricFamily[];
  byName: Map<string, MetricFamily>;
  /** Number of lines skipped as malformed. */
  errorCount: number;
  /** The first few problems, for logs. */
  errors: string[];
  /** The parse stopped at a cap (ParseOptions.maxLines / maxSeries): the result is incomplete. */
  overflow?: "lines" | "series";
}

export interface ParseOptions {
  /** Force OpenMetrics (true) or text 0.0.4 (false); default: detect by a trailing `# EOF` line. */
  openMetrics?: boolean;
  /** Stop after this many lines (blank and comment lines included); default unlimited. */
  maxLines?: number;
  /** Stop after this many samples; default unlimited. */
  maxSeries?: number;
}

const MAX_ERRORS_KEPT = 5;
/** The largest time a Date holds (year 275760): a timestamp beyond it is no time, and would overflow int64 text. */
const MAX_TIMESTAMP_MS = 8.64e15;
/** Sample names remembered for reuse (a histogram series cycles through _bucket, _count, _sum). */
const RECENT_NAMES = 4;

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
  // Number() accepts things Prometheus does not (whitespace, "0x1F", "0b1", "0o7"); reject them.
  const c = s.charCodeAt(0);
  if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)) return undefined;
  if (c === 48 && s.length > 2 && /[xXbBoO]/.test(s[1]!)) return undefined;
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

/**
 * The sample names a family of each type may hold: "" is the family's own name, the rest are suffixes.
 * Text 0.0.4 names a counter's samples like the family; OpenMetrics adds `_total`. (`_created` samples are
 * split into their own gauge family by finish().) Anything else is not part of the family.
 */
const TEXT_NAMES: Record<string, readonly string[]> = {
  counter: ["", "_created"],
  gauge: [""],
  untyped: [""],
  histogram: ["_bucket", "_sum", "_count", "_created"],
  summary: ["", "_sum", "_count", "_created"],
};
const OM_NAMES: Record<string, readonly string[]> = {
  // A bare name too (text 0.0.4 read as OpenMetrics); finish() refuses a family mixing both forms.
  counter: ["", "_total", "_created"],
  gauge: [""],
  untyped: [""],
  unknown: [""],
  stateset: [""],
  info: ["_info"],
  histogram: ["_bucket", "_sum", "_count", "_created"],
  gaugehistogram: ["_bucket", "_gsum", "_gcount"],
  summary: ["", "_sum", "_count", "_created"],
};

interface Draft {
  name: string;
  type: DeclaredType;
  help: string | undefined;
  samples: Sample[];
  /** A TYPE line was seen for it. */
  typed: boolean;
}

/** Parse a whole exposition synchronously. */
export function parseExposition(text: string, opts: ParseOptions = {}): ParseResult {
  const p = createParser(text, opts);
  p.step(Number.POSITIVE_INFINITY);
  return p.result();
}

/** Lines a caller parses per step of an incremental parse (about 0.5 ms of work). */
export const LINES_PER_STEP = 1024;

export interface IncrementalParser {
  /** Parse up to maxLines more lines; true once the whole text is parsed. */
  step(maxLines: number): boolean;
  result(): ParseResult;
}

/**
 * An incremental parser, so a caller on a busy event loop (the poller) can let HTTP requests run
 * between steps of a large exposition. (A plain loop in a closure, not a generator: JavaScriptCore keeps
 * re-compiling a generator's body when it resumes mid-loop.)
 */
export function createParser(text: string, opts: ParseOptions = {}): IncrementalParser {
  const openMetrics = opts.openMetrics ?? /(^|\n)# EOF\r?(\n|$)/.test(text);
  const lineCap = opts.maxLines ?? Number.POSITIVE_INFINITY;
  const seriesCap = opts.maxSeries ?? Number.POSITIVE_INFINITY;
  let series = 0;
  let overflow: ParseResult["overflow"];
  const belongs = (d: Draft, sampleName: string): boolean => {
    if (!sampleName.startsWith(d.name)) return false;
    const names = (openMetrics ? OM_NAMES : TEXT_NAMES)[d.type] ?? OM_NAMES[d.type]!;
    return names.includes(sampleName.slice(d.name.length));
  };
  const drafts = new Map<string, Draft>();
  const order: Draft[] = [];
  const errors: string[] = [];
  let errorCount = 0;
  let current: Draft | undefined;
  const recentNames: string[] = [];
  const recentFamilies: Array<Draft | undefined> = [];
  let nextRecent = 0;
  const knownLabels: string[] = [];
  const lastValues: Array<string | undefined> = [];

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
  /**
   * Which family a sample name belongs to: the current one, a declared one by suffix, or its own; none
   * (the line is refused) when a family of that exact name exists and its type does not allow the name.
   */
  const familyOf = (sampleName: string): Draft | undefined => {
    if (current && belongs(current, sampleName)) return current;
    const exact = drafts.get(sampleName);
    if (exact && (exact.typed || exact.samples.length > 0)) {
      if (exact.type !== "histogram" && exact.type !== "summary" && belongs(exact, sampleName)) return exact;
    }
    const us = sampleName.lastIndexOf("_");
    if (us > 0) {
      const base = drafts.get(sampleName.slice(0, us));
      if (base && belongs(base, sampleName)) return base;
    }
    if (exact) return belongs(exact, sampleName) ? exact : undefined;
    return draftFor(sampleName);
  };

  let lineNo = 0;
  let pos = 0;
  const len = text.length;

  function step(maxLines: number): boolean {
    let start = pos;
    let budget = maxLines;
    while (start < len) {
      if (budget-- <= 0) {
        pos = start;
        return false;
      }
      if (lineNo >= lineCap) {
        overflow = "lines";
        break;
      }
      let end = text.indexOf("\n", start);
      if (end < 0) end = len;
      const lineEnd = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
      // Leading blanks are allowed (Prometheus skips them too).
      let lineStart = start;
      while (lineStart < lineEnd && (text.charCodeAt(lineStart) === 32 || text.charCodeAt(lineStart) === 9))
        lineStart++;
      const line = text.slice(lineStart, lineEnd);
      start = end + 1;
      lineNo++;
      if (line.length === 0) continue;

      if (line.charCodeAt(0) === 35 /* # */) {
        // "# HELP name text", "# TYPE name type", "# UNIT name unit", "# EOF"; other comments ignored.
        let i = 1;
        while (i < line.length && line.charCodeAt(i) === 32) i++;
        const kwEnd = line.indexOf(" ", i);
        const kw = kwEnd < 0 ? line.slice(i) : line.slice(i, kwEnd);
        if (kw === "EOF") {
          start = len;
          break;
        }
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
        recentFamilies.fill(undefined); // a new TYPE/HELP may claim names seen before
        continue;
      }

      // Sample line: name [{labels}] value [timestamp] [# exemplar]
      const c0 = line.charCodeAt(0);
      if (!isNameStart(c0)) {
        fail(lineNo, "not a sample, comment or blank line", line);
        continue;
      }
      // Names repeat line after line (histogram buckets): reuse a recent one instead of slicing and hashing.
      let name: string | undefined;
      let slot = -1;
      for (let r = 0; r < recentNames.length; r++) {
        const n = recentNames[r]!;
        if (line.startsWith(n)) {
          const c = line.charCodeAt(n.length);
          if (c === 123 || c === 32 || c === 9) {
            name = n;
            slot = r;
            break;
          }
        }
      }
      let i: number;
      if (name !== undefined) i = name.length;
      else {
        i = 1;
        for (; i < line.length; i++) {
          const c = line.charCodeAt(i);
          if (c === 123 || c === 32 || c === 9) break;
        }
        name = line.slice(0, i);
        let ok = true;
        for (let k = 1; k < name.length; k++) if (!isNameChar(name.charCodeAt(k))) ok = false;
        if (!ok) {
          fail(lineNo, "invalid metric name", line);
          continue;
        }
        slot = nextRecent;
        recentNames[slot] = name;
        recentFamilies[slot] = undefined;
        nextRecent = (nextRecent + 1) % RECENT_NAMES;
      }
      const labels: Labels = {};
      let seen = 0;
      const backslashAt = line.indexOf("\\", i);
      let bad: string | undefined;
      // The line is kept verbatim for passthrough rendering unless it needs normalizing.
      let verbatim = !openMetrics;
      if (i < line.length && line.charCodeAt(i) === 123 /* { */) {
        i++;
        for (;;) {
          while (i < line.length && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) {
            i++;
            verbatim = false;
          }
          if (i >= line.length) {
            bad = "unterminated label set";
            break;
          }
          if (line.charCodeAt(i) === 125 /* } */) {
            i++;
            break;
          }
          const eq = line.indexOf("=", i);
          if (eq < 0) {
            bad = "label without '='";
            break;
          }
          let ne = eq;
          while (ne > i && (line.charCodeAt(ne - 1) === 32 || line.charCodeAt(ne - 1) === 9)) {
            ne--;
            verbatim = false;
          }
          // Few distinct label names exist: match a known one in place (no slice, no hashing).
          const n = ne - i;
          let li = -1;
          for (let k = 0; k < knownLabels.length; k++) {
            const kl = knownLabels[k]!;
            if (kl.length === n && line.startsWith(kl, i)) {
              li = k;
              break;
            }
          }
          let lname: string;
          if (li >= 0) lname = knownLabels[li]!;
          else {
            lname = line.slice(i, ne);
            let ok = lname.length > 0 && !(lname.charCodeAt(0) >= 48 && lname.charCodeAt(0) <= 57);
            for (let k = 0; ok && k < lname.length; k++) if (!isLabelChar(lname.charCodeAt(k))) ok = false;
            if (!ok) {
              bad = "invalid label name";
              break;
            }
            if (knownLabels.length < 30) {
              li = knownLabels.length;
              knownLabels.push(lname);
            }
          }
          i = eq + 1;
          while (i < line.length && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) {
            i++;
            verbatim = false;
          }
          if (line.charCodeAt(i) !== 34 /* " */) {
            bad = `label '${lname}' value not quoted`;
            break;
          }
          const vs = i + 1;
          let raw: string | undefined;
          let q: number;
          let escaped = false;
          // Values repeat too (model_name, engine): reuse the last value of this label when it matches.
          const last = li >= 0 ? lastValues[li] : undefined;
          if (last !== undefined && line.startsWith(last, vs) && line.charCodeAt(vs + last.length) === 34) {
            raw = last;
            q = vs + last.length;
          } else {
            // Closing quote: the next '"' not escaped (an odd run of backslashes before it escapes it).
            q = line.indexOf('"', vs);
            if (backslashAt >= 0)
              while (q >= 0) {
                let bs = 0;
                while (q - 1 - bs >= vs && line.charCodeAt(q - 1 - bs) === 92) bs++;
                if (bs % 2 === 0) break;
                q = line.indexOf('"', q + 1);
              }
            if (q < 0) {
              bad = `label '${lname}' value not terminated`;
              break;
            }
            escaped = backslashAt >= 0 && backslashAt < q && line.lastIndexOf("\\", q) >= vs;
            raw = line.slice(vs, q);
            if (li >= 0 && !escaped) lastValues[li] = raw;
          }
          i = q + 1;
          if (li >= 0 ? (seen & (1 << li)) !== 0 : lname in labels) {
            bad = `duplicate label '${lname}'`;
            break;
          }
          if (li >= 0) seen |= 1 << li;
          if (escaped) verbatim = false; // re-rendered with canonical escapes
          // Reserved labels (`__name__`, `__*`) are Prometheus' own: an engine's are dropped.
          if (lname.charCodeAt(0) === 95 && lname.charCodeAt(1) === 95) verbatim = false;
          else labels[lname] = escaped ? unescapeText(raw, true) : raw;
          while (i < line.length && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) {
            i++;
            verbatim = false;
          }
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
      // "1e400" overflows to ±Inf: Prometheus refuses that text, so such a line is re-rendered as ±Inf.
      if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY) {
        const t = line.slice(i, ve);
        if (!/inf/i.test(t)) verbatim = false;
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
        if (Math.abs(timestampMs) > MAX_TIMESTAMP_MS) {
          fail(lineNo, "timestamp out of range", line);
          continue;
        }
        // Text 0.0.4 timestamps are integer milliseconds: anything else ("1.5e3") is re-rendered, never passed on.
        if (!/^-?\d+$/.test(line.slice(k, te))) verbatim = false;
        let r = te;
        while (r < line.length && (line.charCodeAt(r) === 32 || line.charCodeAt(r) === 9)) r++;
        if (r < line.length && line.charCodeAt(r) !== 35) {
          fail(lineNo, "unexpected text after the timestamp", line);
          continue;
        }
        if (r < line.length) verbatim = false;
      } else if (k < line.length) verbatim = false;
      let fam = recentFamilies[slot];
      if (fam === undefined) {
        fam = familyOf(name);
        if (fam === undefined) {
          fail(
            lineNo,
            `sample '${name}' is not a name of the ${drafts.get(name)?.type} family '${name}'`,
            line,
          );
          continue;
        }
        recentFamilies[slot] = fam;
      }
      if (++series > seriesCap) {
        overflow = "series";
        break;
      }
      current = fam;
      const sample: Sample = { name, labels, value };
      if (timestampMs !== undefined) sample.timestampMs = timestampMs;
      if (verbatim) sample.line = line;
      fam.samples.push(sample);
    }
    pos = len;
    return true;
  }

  return {
    step,
    result: () => {
      const r = finish(order, errorCount, errors);
      if (overflow) r.overflow = overflow;
      return r;
    },
  };
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
        // OpenMetrics: family `x`, samples `x_total` -> 0.0.4 family `x_total`. A family mixing `x` and
        // `x_total` samples (only OpenMetrics input can) cannot be rendered as one: the bare ones are refused.
        const total = `${d.name}_total`;
        const totals = rest.filter((s) => s.name === total);
        if (totals.length > 0 && totals.length < rest.length) {
          errorCount += rest.length - totals.length;
          if (errors.length < MAX_ERRORS_KEPT)
            errors.push(
              `counter family '${d.name}' mixes '${d.name}' and '${total}': '${d.name}' samples dropped`,
            );
        }
        add({
          name: totals.length > 0 ? total : d.name,
          type: "counter",
          help,
          samples: totals.length > 0 ? totals : rest,
        });
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
