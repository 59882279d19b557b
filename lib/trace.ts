// Outbound call traces for operators (LOG_LEVEL=debug): one line per HTTP call the sidecar makes to the
// engine, a hub, S3 or any download source, with method, host, status (or the error) and milliseconds.
// The composition root installs the sink; until then (and in library use) tracing costs one branch.
// Only the host is traced, never the path or query (signed URLs, names).

export interface CallTrace {
  /** engine | download */
  peer: string;
  method: string;
  host: string;
  status?: number;
  error?: string;
  ms: number;
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
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    const res = await call();
    sink?.({ peer, method, host, status: res.status, ms: ms() });
    return res;
  } catch (e) {
    sink?.({ peer, method, host, error: e instanceof Error ? e.message : String(e), ms: ms() });
    throw e;
  }
}
