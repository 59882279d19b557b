// Outbound call traces for operators (LOG_LEVEL=debug): one line per HTTP call the sidecar makes to the
// engine, a hub, S3 or any download source, with method, host, status (or the error) and milliseconds.
// The composition root installs the sink; until then (and in library use) tracing costs one branch.
// Only the host is traced, never the path or query (signed URLs, names). `retries` is how many times the
// caller retried this request before (set by the retry loops with withRetryCount).
import { AsyncLocalStorage } from "node:async_hooks";

export interface CallTrace {
  /** engine | download */
  peer: string;
  method: string;
  host: string;
  status?: number;
  error?: string;
  ms: number;
  retries: number;
}

const retryCount = new AsyncLocalStorage<number>();

/** Run `fn` as attempt number `retries + 1` of a request (traces carry the count). */
export function withRetryCount<T>(retries: number, fn: () => T): T {
  return sink ? retryCount.run(retries, fn) : fn();
}

let sink: ((t: CallTrace) => void) | null = null;

/** Install (or remove, with null) the function that receives every trace. */
export function setTraceSink(fn: ((t: CallTrace) => void) | null): void {
  sink = fn;
}

/** Time `call` and trace it when a sink is installed. */
export async function traced<T extends { status: number }>(
  peer: string,
  method: string,
  url: URL | string,
  call: () => Promise<T>,
): Promise<T> {
  if (!sink) return call();
  const started = performance.now();
  const host = new URL(url).host;
  const retries = retryCount.getStore() ?? 0;
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    const res = await call();
    sink?.({ peer, method, host, status: res.status, ms: ms(), retries });
    return res;
  } catch (e) {
    sink?.({ peer, method, host, error: e instanceof Error ? e.message : String(e), ms: ms(), retries });
    throw e;
  }
}
