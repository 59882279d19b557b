// Small response helpers shared by the personalities (each engine still chooses its own bodies and types).
import type { Context } from "hono";

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
