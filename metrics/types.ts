// Shared metric model types. The metrics pipeline (parse -> rules -> render) fills these in.

/** A rule maps engine families to standardized `aibrix:*` families; see metrics/rules.ts. */
export interface MetricRule {
  /** Source family name as the engine exposes it (e.g. "vllm:num_requests_waiting"). */
  readonly source: string;
  /** Target family name (e.g. "aibrix:queue_size"). */
  readonly target: string;
  /** Optional extra properties; the rules module defines their meaning. */
  readonly [k: string]: unknown;
}
