// A tiny Prometheus text-format (0.0.4) writer for the mock personalities. Each engine decides its own names,
// types, labels and number formatting; this file only gets the syntax right (escaping, +Inf, histograms).

export type Labels = Record<string, string>;

/** Counts per bucket (not cumulative), plus sum and count, for one label set. */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: readonly number[]) {
    this.counts = new Array(buckets.length).fill(0);
  }
  observe(v: number, times = 1): void {
    const i = this.buckets.findIndex((b) => v <= b);
    if (i >= 0) this.counts[i]! += times;
    this.sum += v * times;
    this.count += times;
  }
}

/** Python's float repr as prometheus_client prints it: 1 -> "1.0", 0.25 -> "0.25", Infinity -> "+Inf". */
export function pyFloat(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return `${v}.0`;
  return String(v);
}

/** Plain shortest representation (Rust/C++ exporters print integers without ".0"). */
export function plainNum(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

export class PromText {
  private readonly lines: string[] = [];
  constructor(private readonly fmt: (v: number) => string = pyFloat) {}

  family(name: string, type: "counter" | "gauge" | "histogram" | "summary" | "untyped", help: string): this {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels, value: number): this {
    const ls = Object.entries(labels)
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(",");
    this.lines.push(`${name}${ls ? `{${ls}}` : ""} ${this.fmt(value)}`);
    return this;
  }

  /** `_bucket` series (cumulative, ending with +Inf), then `_sum` and `_count`. */
  histogram(name: string, labels: Labels, h: Histogram, leFmt: (v: number) => string = this.fmt): this {
    let acc = 0;
    h.buckets.forEach((b, i) => {
      acc += h.counts[i]!;
      this.bucketLine(name, labels, leFmt(b), acc);
    });
    this.bucketLine(name, labels, "+Inf", h.count);
    this.sample(`${name}_sum`, labels, h.sum);
    this.sample(`${name}_count`, labels, h.count);
    return this;
  }

  private bucketLine(name: string, labels: Labels, le: string, v: number): void {
    const ls = Object.entries(labels).map(([k, val]) => `${k}="${escapeLabel(val)}"`);
    ls.push(`le="${le}"`);
    this.lines.push(`${name}_bucket{${ls.join(",")}} ${this.fmt(v)}`);
  }

  raw(line: string): this {
    this.lines.push(line);
    return this;
  }

  toString(): string {
    return `${this.lines.join("\n")}\n`;
  }
}
