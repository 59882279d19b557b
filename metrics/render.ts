// Prometheus text 0.0.4 and OpenMetrics 1.0 rendering of the shared family model (metrics/types.ts).
// One pass, string parts joined once; escaping only where a value needs it.
import type { Labels, MetricFamily, Sample } from "./types.ts";

export type ExpositionFormat = "text" | "openmetrics";

export const CONTENT_TYPE: Record<ExpositionFormat, string> = {
  text: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

/** OpenMetrics expositions end with this line (append once, after every part). */
export const OPENMETRICS_EOF = "# EOF\n";

const NEEDS_LABEL_ESCAPE = /[\\"\n]/;
const NEEDS_HELP_ESCAPE_TEXT = /[\\\n]/;
const NEEDS_HELP_ESCAPE_OM = /[\\"\n]/;

export function escapeLabelValue(v: string): string {
  return NEEDS_LABEL_ESCAPE.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v;
}

function escapeHelp(h: string, format: ExpositionFormat): string {
  if (format === "text")
    return NEEDS_HELP_ESCAPE_TEXT.test(h) ? h.replace(/\\/g, "\\\\").replace(/\n/g, "\\n") : h;
  return NEEDS_HELP_ESCAPE_OM.test(h)
    ? h.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
    : h;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

export function renderLabels(labels: Labels): string {
  let out = "";
  for (const k in labels) {
    out += out === "" ? "{" : ",";
    out += `${k}="${escapeLabelValue(labels[k]!)}"`;
  }
  return out === "" ? "" : `${out}}`;
}

function renderSample(s: Sample, format: ExpositionFormat): string {
  if (s.line !== undefined && (format === "text" || s.timestampMs === undefined)) return s.line;
  let line = s.name + renderLabels(s.labels) + " " + formatValue(s.value);
  if (s.timestampMs !== undefined)
    line += " " + (format === "text" ? String(Math.round(s.timestampMs)) : String(s.timestampMs / 1000));
  return line;
}

/** OpenMetrics family name and type for a 0.0.4-form family. */
function openMetricsHead(f: MetricFamily): { name: string; type: string } {
  if (f.type === "counter") {
    // OpenMetrics counters are named without _total and their samples must carry it.
    if (f.name.endsWith("_total")) return { name: f.name.slice(0, -6), type: "counter" };
    return { name: f.name, type: "unknown" };
  }
  if (f.type === "untyped") return { name: f.name, type: "unknown" };
  return { name: f.name, type: f.type };
}

/** Render families (no `# EOF`; add OPENMETRICS_EOF after the last part of an OpenMetrics body). */
export function renderFamilies(families: readonly MetricFamily[], format: ExpositionFormat): string {
  const parts: string[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    const head = format === "text" ? { name: f.name, type: f.type } : openMetricsHead(f);
    if (f.help !== "") parts.push(`# HELP ${head.name} ${escapeHelp(f.help, format)}`);
    parts.push(`# TYPE ${head.name} ${head.type}`);
    for (const s of f.samples) parts.push(renderSample(s, format));
  }
  return parts.length === 0 ? "" : parts.join("\n") + "\n";
}
