// Fault injection: parse `--fault` specs, and the responses a fault produces.
import type { Faults } from "./types.ts";

export const FAULT_SPECS =
  "slow-metrics=MS | error-rate=FRACTION | reset | malformed-metrics | hang-metrics | unhealthy";

/** Parse one `--fault` value, e.g. "slow-metrics=500", "error-rate=0.3", "reset". Throws with a clear message. */
export function parseFaultSpec(spec: string): Faults {
  const [key, value] = spec.split("=", 2) as [string, string | undefined];
  const num = (what: string, min: number, max: number) => {
    const n = Number(value);
    if (value === undefined || value.trim() === "" || !Number.isFinite(n) || n < min || n > max)
      throw new Error(`--fault ${key} needs ${what} in [${min}, ${max}], got '${value ?? ""}'`);
    return n;
  };
  const flag = () => {
    if (value !== undefined) throw new Error(`--fault ${key} takes no value`);
    return true;
  };
  switch (key.trim()) {
    case "slow-metrics":
      return { slowMetricsMs: num("milliseconds", 0, 3_600_000) };
    case "error-rate":
      return { errorRate: num("a fraction", 0, 1) };
    case "reset":
      return { reset: flag() };
    case "malformed-metrics":
      return { malformedMetrics: flag() };
    case "hang-metrics":
      return { hangMetrics: flag() };
    case "unhealthy":
      return { unhealthy: flag() };
    default:
      throw new Error(`unknown fault '${spec}'; expected one of: ${FAULT_SPECS}`);
  }
}

/** Merge fault settings; a key set to null/undefined/false/0 switches that fault off. */
export function mergeFaults(current: Faults, patch: Record<string, unknown>): Faults {
  const next: Record<string, unknown> = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (!["slowMetricsMs", "errorRate", "reset", "malformedMetrics", "hangMetrics", "unhealthy"].includes(k))
      throw new Error(`unknown fault '${k}'`);
    if (v === null || v === undefined || v === false || v === 0) delete next[k];
    else next[k] = v;
  }
  return next as Faults;
}

/** A response whose body errors before any byte is written: the server drops the connection (ECONNRESET). */
export function connectionReset(): Response {
  return new Response(
    new ReadableStream({
      start(c) {
        // An undefined reason drops the connection just the same, without Bun logging a stack trace.
        c.error(undefined);
      },
    }),
  );
}

/** Prometheus text that no parser accepts: an unterminated label value and a line that is not a sample. */
export function malform(text: string): string {
  const cut = text.slice(0, Math.floor(text.length / 2));
  return `${cut.slice(0, cut.lastIndexOf("\n") + 1)}mock_broken{model_name="unterminated 1\nthis is not a metric line\n`;
}

/** Resolve after ms, or early when the signal aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}
