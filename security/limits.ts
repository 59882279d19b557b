// Input limits: body size (413), JSON nesting depth and string length (400), and a deadline per request (504).
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AppError, renderError, reshaped } from "../errors.ts";
import { isAibrixPath } from "../lib/aibrix-paths.ts";

export const MAX_JSON_DEPTH = 32;
export const MAX_JSON_STRING = 64 * 1024;

/** AIBrix's paths answer as FastAPI does ({detail}), ours with problem+json. */
function reject(c: Parameters<MiddlewareHandler>[0], e: AppError) {
  const r = renderError(isAibrixPath(c.req.path) ? reshaped(e, "detail") : e, c.req.path);
  return c.json(r.body, r.status as 400, r.headers);
}

export function bodySizeGuard(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      reject(c, new AppError("payload_too_large", `request body larger than ${maxBytes} bytes`)),
  });
}

/** Scan JSON text (without building it) for nesting depth and the longest string. */
export function jsonShape(text: string): { depth: number; longestString: number } {
  let depth = 0;
  let maxDepth = 0;
  let longest = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      const start = i;
      for (i++; i < text.length; i++) {
        const c2 = text.charCodeAt(i);
        if (c2 === 0x5c) i++;
        else if (c2 === 0x22) break;
      }
      longest = Math.max(longest, i - start - 1);
    } else if (ch === 0x7b || ch === 0x5b) {
      depth++;
      if (depth > maxDepth) maxDepth = depth;
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return { depth: maxDepth, longestString: longest };
}

export function jsonShapeGuard(maxDepth = MAX_JSON_DEPTH, maxString = MAX_JSON_STRING): MiddlewareHandler {
  return async (c, next) => {
    const method = c.req.method;
    if (
      (method === "POST" || method === "PUT" || method === "PATCH") &&
      (c.req.header("content-type") ?? "").includes("json")
    ) {
      // Hono caches the text, so the validator after us parses the same bytes without reading again.
      const shape = jsonShape(await c.req.text());
      if (shape.depth > maxDepth)
        return reject(c, new AppError("json_too_deep", `JSON nesting deeper than ${maxDepth} levels`));
      if (shape.longestString > maxString)
        return reject(
          c,
          new AppError("json_string_too_long", `a JSON string is longer than ${maxString} characters`),
        );
    }
    return next();
  };
}

/**
 * Every request gets an answer within `ms`: 504 otherwise. Only the answer is cut short: the handler's work
 * goes on to its own end (engine calls and downloads have their own deadlines, a download keeps running
 * and its status says how it ended) and what it returns then is dropped.
 */
export function deadlineGuard(ms: number): MiddlewareHandler {
  return async (c, next) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"expired">((resolve) => {
      timer = setTimeout(() => resolve("expired"), ms);
    });
    try {
      const outcome = await Promise.race([next().then(() => "done" as const), expired]);
      if (outcome === "expired") {
        c.res = reject(
          c,
          new AppError("request_timeout", `request did not complete within ${ms / 1000} s (timeout)`),
        );
      }
    } finally {
      clearTimeout(timer);
    }
  };
}
