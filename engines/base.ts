// Shared building blocks for engine adapters: health by path, model list passthrough.
import { AppError } from "../errors.ts";
import { engineRequest, engineStatusError } from "./http.ts";
import type { CallCtx, EngineHealth } from "./types.ts";

export interface EngineOptions {
  baseUrl: string;
  timeoutMs: number;
  /** Metrics path override (METRIC_SCRAPE_PATH). */
  metricsPath?: string;
}

export function authHeaders(ctx: CallCtx): Record<string, string> {
  return ctx.authorization ? { authorization: ctx.authorization } : {};
}

/** Health = a GET on `path` answers 2xx within the deadline. */
export async function healthByPath(
  baseUrl: string,
  path: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<EngineHealth> {
  try {
    const r = await engineRequest(baseUrl + path, { signal, timeoutMs });
    if (r.status >= 200 && r.status < 300) return { healthy: true };
    return { healthy: false, reason: `engine ${path} answered ${r.status}: service unavailable` };
  } catch (e) {
    return { healthy: false, reason: e instanceof AppError ? e.message : String(e) };
  }
}

/** GET /v1/models passed through unchanged, with the caller's Authorization forwarded. */
export async function listModelsOpenAI(baseUrl: string, ctx: CallCtx, timeoutMs: number): Promise<unknown> {
  const r = await engineRequest(`${baseUrl}/v1/models`, {
    signal: ctx.signal,
    timeoutMs,
    headers: authHeaders(ctx),
  });
  if (r.status < 200 || r.status >= 300) throw engineStatusError(r, "list models");
  if (r.json === undefined)
    throw new AppError("engine_error", "list models: engine reply is not JSON (bad gateway)");
  return r.json;
}
