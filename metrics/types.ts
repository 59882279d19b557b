// The metric model shared by parse -> rules -> render, and the shape of per-engine rules (data, not code).
//
// Families are kept in the text-0.0.4 form Prometheus engines serve: a counter family is named like its
// sample (`vllm:prompt_tokens_total`), histogram samples carry their `_bucket`/`_sum`/`_count` suffix.
// render.ts derives the OpenMetrics form (family `x`, samples `x_total`) from it.

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

/** Label name -> value, in exposition order. */
export type Labels = Record<string, string>;

export interface Sample {
  /** Full sample name, suffix included (`x_bucket`, `x_sum`, `x_total`, ...). */
  name: string;
  labels: Labels;
  value: number;
  /** Milliseconds since the epoch, when the exposition carried one. */
  timestampMs?: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

/** A value read from one engine family, with optional label filter. */
export interface SourceRef {
  /** Engine family name, e.g. "vllm:num_requests_waiting". */
  family: string;
  /** Only samples whose labels equal these values (e.g. {request_type: "waiting"}). */
  match?: Labels;
}

/**
 * One standardized family and how to compute it from engine families. The first source present in the
 * scraped exposition wins (so renamed engine versions are listed newest first).
 *
 * kinds:
 *  - "copy":     same type as the source; values (and histogram `le` bounds) multiplied by `scale`.
 *  - "invert":   gauge = 1 / source value (tokens/s -> s/token); 0 or missing -> no sample.
 *  - "fromSum":  counter = the `_sum` sample of a source histogram (TGI has no token counters).
 *  - "fromCount":counter = the `_count` sample of a source histogram.
 *  - "label":    gauge = numeric value of one label of the source (vllm:cache_config_info{block_size}).
 *  - "ratio":    gauge = numerator / denominator (both gauges), clamped to [0, 1].
 */
export type RuleKind = "copy" | "invert" | "fromSum" | "fromCount" | "label" | "ratio";

export interface MetricRule {
  /** Target family name (e.g. "aibrix:queue_size"). */
  readonly target: string;
  readonly kind: RuleKind;
  /** Candidate engine families, first present wins. */
  readonly sources: readonly SourceRef[];
  /** "copy": multiply values (and `le` bounds) by this; e.g. 1e-3 for ms, 1e-6 for µs. */
  readonly scale?: number;
  /** "label": the label whose value is the number. */
  readonly label?: string;
  /** "ratio": the denominator family. */
  readonly denominator?: SourceRef;
  /** Labels dropped from the output (their meaning was consumed, e.g. request_type). */
  readonly dropLabels?: readonly string[];
  /** Engine label renamed to model_name (Triton's `model`). */
  readonly modelLabel?: string;
  readonly help: string;
  /** Target type when it differs from the source's ("copy" keeps the source type). */
  readonly type?: MetricType;
}
