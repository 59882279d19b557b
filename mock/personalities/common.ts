// Small response helpers shared by the personalities (each engine still chooses its own bodies and types).
import type { Context } from "hono";
import { Histogram, type Labels, type PromText } from "../prom.ts";
import type { FinishedRequest } from "../sim.ts";

export const PROM_TEXT_004 = "text/plain; version=0.0.4; charset=utf-8";

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** Empty body; no content-type (Starlette's `Response(status_code=...)`). */
export function empty(status = 200): Response {
  return new Response(null, { status, headers: { "content-length": "0" } });
}

/** A text body sent without any content-type header (Starlette `Response(content=str)` with no media_type). */
export function bareText(text: string, status = 200): Response {
  // Bun adds a content-type to string and byte bodies; a stream body with an explicit length gets none.
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
  return new Response(body, { status, headers: { "content-length": String(bytes.length) } });
}

export function plainText(text: string, status = 200): Response {
  return new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/** The bearer token of the request, or undefined. */
export function bearer(c: Context): string | undefined {
  const h = c.req.header("authorization");
  const m = h ? /^Bearer\s+(.+)$/i.exec(h) : null;
  return m?.[1]?.trim();
}

/** Parse a JSON object body; null when the body is not a JSON object. */
export async function jsonObject(c: Context): Promise<Record<string, unknown> | null> {
  try {
    const v = await c.req.json();
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

export const nowS = () => Math.floor(Date.now() / 1000);

/** 1-2-5 buckets up to `max` (vLLM `build_1_2_5_buckets`). */
export function buckets125(max: number): number[] {
  const out: number[] = [];
  for (let exp = 1; ; exp *= 10) {
    for (const m of [1, 2, 5]) {
      if (m * exp > max) return out;
      out.push(m * exp);
    }
  }
}

/** A string field of a JSON body that may be anything. */
export const field = (body: unknown, key: string): string | undefined =>
  body !== null && typeof body === "object" ? str((body as Record<string, unknown>)[key]) : undefined;

// Request-latency bucket lists of vLLM's loggers.py; trtllm-serve's collector uses the same lists (ENGINES.md §5).
export const VLLM_REQUEST_LATENCY_BUCKETS = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
  960.0, 1920.0, 7680.0,
];
export const VLLM_TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
  80.0, 160.0, 640.0, 2560.0,
];
export const VLLM_TPOT_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];

/** Per-request phase histograms that vLLM and trtllm-serve both keep (each under its own names). */
export function phaseHistograms(prefillBuckets: readonly number[]) {
  return {
    e2e: new Histogram(VLLM_REQUEST_LATENCY_BUCKETS),
    ttft: new Histogram(VLLM_TTFT_BUCKETS),
    tpot: new Histogram(VLLM_TPOT_BUCKETS),
    queue: new Histogram(VLLM_REQUEST_LATENCY_BUCKETS),
    prefill: new Histogram(prefillBuckets),
    decode: new Histogram(VLLM_REQUEST_LATENCY_BUCKETS),
    inference: new Histogram(VLLM_REQUEST_LATENCY_BUCKETS),
  };
}

export function observePhases(h: ReturnType<typeof phaseHistograms>, f: FinishedRequest): void {
  h.e2e.observe(f.e2eS);
  h.ttft.observe(f.ttftS);
  h.tpot.observe(f.tpotS);
  h.queue.observe(f.queueS);
  h.prefill.observe(f.prefillS);
  h.decode.observe(f.decodeS);
  h.inference.observe(f.inferenceS);
}

/** Writers for single-sample families that all carry the same labels (prometheus_client style). */
export function labelledFamilies(t: PromText, labels: Labels, counterSuffix = "") {
  return {
    gauge: (name: string, help: string, v: number) => t.family(name, "gauge", help).sample(name, labels, v),
    counter: (name: string, help: string, v: number) =>
      t.family(`${name}${counterSuffix}`, "counter", help).sample(`${name}${counterSuffix}`, labels, v),
    hist: (name: string, help: string, x: Histogram) =>
      t.family(name, "histogram", help).histogram(name, labels, x),
  };
}
