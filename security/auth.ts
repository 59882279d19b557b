// Bearer auth for management routes (AIRUNTIME_API_KEY or AIRUNTIME_API_KEY_FILE). Probes and /metrics stay
// open unless AIRUNTIME_METRICS_AUTH=1. Comparison is constant-time (both sides hashed to equal length).
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { AppError, renderError } from "../errors.ts";

const PROBES = new Set(["/healthz", "/ready"]);
const METRICS = new Set(["/metrics", "/metrics/"]);

/** Header a caller can use instead of Authorization, so Authorization stays free for the engine's key. */
export const KEY_HEADER = "x-airuntime-key";

const digest = (s: string) => createHash("sha256").update(s).digest();

export function keyMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

export function isOpenPath(path: string, metricsAuth: boolean): boolean {
  return PROBES.has(path) || (!metricsAuth && METRICS.has(path));
}

/**
 * The guard. Whichever header carries our key (`Authorization: Bearer <key>`, `X-Airuntime-Key`, or both),
 * it is removed before the routes see it, so our key is never forwarded to the engine (the engine's own key can travel
 * as additional_config["api-key"], as the AIBrix controller sends it).
 */
export function apiKeyGuard(key: string, metricsAuth: boolean): MiddlewareHandler {
  return async (c, next) => {
    if (isOpenPath(c.req.path, metricsAuth)) return next();
    const viaHeader = c.req.header(KEY_HEADER);
    const auth = c.req.header("authorization") ?? "";
    const bearer = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
    const viaKeyHeader = viaHeader !== undefined && keyMatches(viaHeader, key);
    const viaBearer = bearer !== undefined && keyMatches(bearer, key);
    if (viaKeyHeader || viaBearer) {
      // Our key never travels further, whichever header carried it (both may be sent at once); an
      // Authorization holding another value (the engine's key) is the caller's and is forwarded.
      if (viaBearer) c.req.raw.headers.delete("authorization");
      c.req.raw.headers.delete(KEY_HEADER);
      return next();
    }
    const err = new AppError(
      "unauthorized",
      bearer === undefined && viaHeader === undefined
        ? "missing API key: send 'Authorization: Bearer <AIRUNTIME_API_KEY>' or 'X-Airuntime-Key'"
        : "invalid API key",
      { form: "problem" },
    );
    const r = renderError(err, c.req.path);
    return c.json(r.body, 401, { ...r.headers, "www-authenticate": 'Bearer realm="airuntime"' });
  };
}
