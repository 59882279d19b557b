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
  /**
   * The exposition line this sample was parsed from, when it is already valid text 0.0.4 for exactly
   * this name, labels, value and timestamp: passthrough renders it as is. Anything that changes the
   * sample builds a new one without it.
   */
  line?: string;
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
 * One standardized family and how to compute it from engine families. The first candidate source
 * present in the scraped exposition wins (renamed engine versions are listed newest first).
 *
 * kinds:
 *  - "copy":      same type as the source; values (histogram `le` bounds and `_sum` too) ÷ `divideBy`.
 *  - "invert":    gauge = 1 / source value (tokens/s -> s/token); 0 or missing -> no sample.
 *  - "fromSum":   counter = the `_sum` samples of a source histogram (TGI has no token counters).
 *  - "fromCount": counter = the `_count` samples of a source histogram.
 *  - "label":     gauge = numeric value of one label of the source (vllm:cache_config_info{block_size}).
 *  - "ratio":     gauge = source / `denominator`, series joined on their labels.
 *  - "sum":       counter or gauge = the sum of every listed source (not first-wins), joined on labels.
 */
export type RuleKind = "copy" | "invert" | "fromSum" | "fromCount" | "label" | "ratio" | "sum";

/** How one target's series from several endpoints (data-parallel ranks) combine. */
export type Aggregation = "sum" | "mean" | "max";

export interface MetricRule {
  /** Target family name (e.g. "aibrix:queue_size"); counters end in `_total`. */
  readonly target: string;
  readonly kind: RuleKind;
  /** Candidate engine families; first present wins (all of them for "sum"). */
  readonly sources: readonly SourceRef[];
  /** "copy": unit conversion, values (and `le` bounds) divided by this: 1000 for ms, 1e6 for µs. */
  readonly divideBy?: number;
  /** "label": the label whose value is the number. */
  readonly label?: string;
  /** "ratio": the denominator family. */
  readonly denominator?: SourceRef;
  /** Labels dropped from the output (their meaning was consumed, e.g. request_type). */
  readonly dropLabels?: readonly string[];
  /** "label": keep only these labels (info families carry dozens); default model_name, engine. */
  readonly keepLabels?: readonly string[];
  /** Do not add a model_name label (vLLM's lora_requests_info has exactly three labels). */
  readonly noModelName?: boolean;
  /** Across endpoints; default "sum" (histogram buckets are always summed). */
  readonly aggregate?: Aggregation;
  /** Output type; default: the source's type for "copy", gauge or counter otherwise. */
  readonly type?: MetricType;
  readonly help: string;
}

/** Every rule for one engine, plus how that engine names its model. */
export interface RuleSet {
  readonly rules: readonly MetricRule[];
  /** Engine label that holds the model name, renamed to model_name (Triton's `model`). */
  readonly modelLabel?: string;
  /** The engine family whose value is its LoRA capacity: `max_lora` of a synthesized lora_requests_info. */
  readonly loraCapacity?: SourceRef;
}
