// A deliberately small Prometheus text checker for the mock's tests (the real parser is metrics/parse.ts;
// these tests must not depend on it). It parses families and samples and checks histogram invariants.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  type: string;
  help?: string;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y;

function parseLabels(s: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < s.length) {
    const m = LABEL.exec(s);
    if (!m) throw new Error(`bad labels in line: ${line}`);
    out[m[1]!] = m[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
  }
  return out;
}

const parseValue = (v: string) =>
  v === "+Inf" ? Number.POSITIVE_INFINITY : v === "-Inf" ? Number.NEGATIVE_INFINITY : Number(v);

/** Parse text format 0.0.4; throws on any malformed line or on samples of an undeclared family. */
export function parseProm(text: string): Map<string, Family> {
  const fams = new Map<string, Family>();
  const familyOf = (sample: string): Family | undefined => {
    if (fams.has(sample)) return fams.get(sample);
    for (const suf of ["_bucket", "_sum", "_count"]) {
      if (sample.endsWith(suf)) {
        const f = fams.get(sample.slice(0, -suf.length));
        if (f && (f.type === "histogram" || f.type === "summary")) return f;
      }
    }
    return undefined;
  };
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) continue;
      const f = fams.get(m[2]!) ?? { name: m[2]!, type: "untyped", samples: [] };
      if (m[1] === "TYPE") f.type = m[3]!;
      else f.help = m[3];
      fams.set(f.name, f);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const value = parseValue(m[3]!);
    if (Number.isNaN(value) && m[3] !== "NaN") throw new Error(`bad value in line: ${line}`);
    const f = familyOf(m[1]!);
    if (!f) throw new Error(`sample without a TYPE/HELP family: ${line}`);
    f.samples.push({ name: m[1]!, labels: parseLabels(m[2] ?? "", line), value });
  }
  for (const f of fams.values()) if (f.type === "histogram") checkHistogram(f);
  return fams;
}

function checkHistogram(f: Family): void {
  const series = new Map<string, Sample[]>();
  const key = (l: Record<string, string>) =>
    JSON.stringify(
      Object.entries(l)
        .filter(([k]) => k !== "le")
        .sort(),
    );
  for (const s of f.samples) {
    const k = key(s.labels);
    series.set(k, [...(series.get(k) ?? []), s]);
  }
  for (const [k, ss] of series) {
    const buckets = ss.filter((s) => s.name === `${f.name}_bucket`);
    const count = ss.find((s) => s.name === `${f.name}_count`);
    const sum = ss.find((s) => s.name === `${f.name}_sum`);
    if (!count || !sum) throw new Error(`${f.name}${k}: missing _sum or _count`);
    const inf = buckets.at(-1);
    if (inf?.labels.le !== "+Inf") throw new Error(`${f.name}${k}: last bucket is not le="+Inf"`);
    if (inf!.value !== count.value)
      throw new Error(`${f.name}${k}: +Inf bucket ${inf.value} != _count ${count.value}`);
    for (let i = 1; i < buckets.length; i++) {
      if (parseValue(buckets[i]!.labels.le!) <= parseValue(buckets[i - 1]!.labels.le!))
        throw new Error(`${f.name}${k}: bucket bounds not increasing`);
      if (buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${f.name}${k}: buckets not cumulative`);
    }
  }
}

/** The value of the one sample `name` whose labels include `match`. */
export function value(fams: Map<string, Family>, name: string, match: Record<string, string> = {}): number {
  for (const f of fams.values())
    for (const s of f.samples)
      if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) return s.value;
  throw new Error(`no sample ${name} ${JSON.stringify(match)}`);
}
