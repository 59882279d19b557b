// The immutable engine part of /metrics, built once per poll: passthrough families (per mode) plus the
// standardized `aibrix:*` families, rendered to text 0.0.4 at build time; OpenMetrics and gzip bodies
// are rendered at most once per snapshot, on first request.
import { gzipSync } from "node:zlib";
import type { MetricsMode } from "../config.ts";
import { mergeFamilies, withRank } from "./aggregate.ts";
import { type ExpositionFormat, renderFamilies } from "./render.ts";
import { LORA_INFO } from "./rules.ts";
import type { Aggregation, Labels, MetricFamily, RuleSet } from "./types.ts";

/** What the sidecar knows about its adapters, for engines that do not report LoRA metrics. */
export interface LoraInfo {
  /** Adapters per batch, when known (a setting); the engine's own figure wins (RuleSet.loraCapacity). */
  maxLora?: number;
  running: readonly string[];
  waiting: readonly string[];
}

/** One endpoint's latest good scrape, already parsed and standardized. */
export interface EndpointData {
  rank: number;
  /** Families as the engine exposed them. */
  raw: readonly MetricFamily[];
  /** The `aibrix:*` families computed from them. */
  standard: readonly MetricFamily[];
  /** When this data was scraped (ms since epoch); it drops out after the staleness bound. */
  scrapedAt: number;
}

export interface Snapshot {
  readonly builtAt: number;
  /** The earliest time one of the included endpoints goes stale (Infinity when none is included). */
  readonly expiresAt: number;
  readonly familyNames: ReadonlySet<string>;
  /** The families, for filtered renders (`?name[]=`); never mutate. */
  readonly families: readonly MetricFamily[];
  readonly seriesCount: number;
  body(format: ExpositionFormat): string;
  /** The body as UTF-8, encoded once per snapshot (responses copy bytes instead of re-encoding). */
  bytes(format: ExpositionFormat): Uint8Array;
  gzipped(format: ExpositionFormat): Uint8Array;
}

export interface SnapshotInput {
  endpoints: readonly EndpointData[];
  /** How many endpoints are configured (a `rank` label is added to passthrough when more than one). */
  endpointCount: number;
  mode: MetricsMode;
  rules: RuleSet;
  /** Names the sidecar's own metrics use: engine families never shadow them. */
  reserved: ReadonlySet<string>;
  lora?: LoraInfo;
  staleAfterMs: number;
  now: number;
}

const ENCODER = new TextEncoder();

/** The sidecar's namespace: an engine family with such a name is dropped, in every mode. */
export const OUR_PREFIX = "aibrix:";
const isOurs = (name: string, reserved: ReadonlySet<string>) =>
  name.startsWith(OUR_PREFIX) || reserved.has(name);

export function buildSnapshot(input: SnapshotInput): Snapshot {
  const { endpoints, mode } = input;
  const families: MetricFamily[] = [];

  if (mode !== "standard") {
    const lists =
      input.endpointCount > 1 ? endpoints.map((e) => withRank(e.raw, e.rank)) : endpoints.map((e) => e.raw);
    const merged = lists.length === 0 ? [] : mergeFamilies(lists, () => "sum");
    // The engine's own families keep their names, but never ours: the `aibrix:` namespace (standardized and
    // own families) and any other name the sidecar registers. (parse.ts keeps every sample name inside its
    // family's name, so checking family names is enough.)
    for (const f of merged) if (!isOurs(f.name, input.reserved)) families.push(f);
  }
  if (mode !== "raw") {
    const aggregation = new Map<string, Aggregation>();
    for (const r of input.rules.rules) aggregation.set(r.target, r.aggregate ?? "sum");
    const lists = endpoints.map((e) => e.standard);
    const standard = lists.length === 0 ? [] : mergeFamilies(lists, (f) => aggregation.get(f.name) ?? "sum");
    families.push(...standard.filter((f) => !input.reserved.has(f.name)));
    if (input.lora && !standard.some((f) => f.name === LORA_INFO) && !input.reserved.has(LORA_INFO)) {
      const maxLora = loraCapacity(endpoints, input.rules) ?? input.lora.maxLora;
      families.push(loraFamily({ ...input.lora, maxLora }, input.now));
    }
  }

  const text = renderFamilies(families, "text");
  const expiresAt = endpoints.reduce(
    (m, e) => Math.min(m, e.scrapedAt + input.staleAfterMs),
    Number.POSITIVE_INFINITY,
  );
  let om: string | undefined;
  const gz: Partial<Record<ExpositionFormat, Uint8Array>> = {};
  const utf8: Partial<Record<ExpositionFormat, Uint8Array>> = {};
  const body = (format: ExpositionFormat) => {
    if (format === "text") return text;
    om ??= renderFamilies(families, "openmetrics");
    return om;
  };
  const bytes = (format: ExpositionFormat) => {
    utf8[format] ??= ENCODER.encode(body(format));
    return utf8[format]!;
  };
  return {
    builtAt: input.now,
    expiresAt,
    familyNames: new Set(families.map((f) => f.name)),
    families,
    seriesCount: families.reduce((n, f) => n + f.samples.length, 0),
    body,
    bytes,
    gzipped(format) {
      // Level 1: several times faster than the default at a ratio still around 8x for expositions.
      gz[format] ??= gzipSync(bytes(format), { level: 1 });
      return gz[format]!;
    },
  };
}

/** The LoRA capacity the engine reports (the largest over its endpoints), if its rules say where. */
function loraCapacity(endpoints: readonly EndpointData[], rules: RuleSet): number | undefined {
  const ref = rules.loraCapacity;
  if (!ref) return undefined;
  let max: number | undefined;
  for (const e of endpoints)
    for (const f of e.raw)
      if (f.name === ref.family)
        for (const s of f.samples)
          if (Number.isInteger(s.value) && s.value >= 0 && (max === undefined || s.value > max))
            max = s.value;
  return max;
}

/**
 * `aibrix:lora_requests_info` like vLLM's, value = Unix time (seconds) of the update. `max_lora` only when
 * known (the engine's figure or a setting), never invented; waiting adapters only where the engine reports
 * a queue (vLLM, whose own family is used instead), so empty here.
 */
export function loraFamily(info: LoraInfo, nowMs: number): MetricFamily {
  const labels: Labels = {};
  if (info.maxLora !== undefined) labels.max_lora = String(info.maxLora);
  labels.running_lora_adapters = info.running.join(",");
  labels.waiting_lora_adapters = info.waiting.join(",");
  return {
    name: LORA_INFO,
    type: "gauge",
    help: "LoRA adapters: max_lora (when known), running and waiting adapters; value = Unix time of the last update.",
    samples: [{ name: LORA_INFO, labels, value: nowMs / 1000 }],
  };
}
