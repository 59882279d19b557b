// Which paths belong to AIBrix's API: those keep AIBrix's (FastAPI) error JSON, every other path gets
// problem+json. Used by the app's error renderer and by the guards that answer before a route runs.
const AIBRIX_PREFIXES = ["/v1/models", "/v1/lora_adapter", "/v1/model/", "/v1/runtime/"];
export const isAibrixPath = (p: string) => AIBRIX_PREFIXES.some((x) => p === x || p.startsWith(x));

/** AIBrix's own paths outside the prefixes above (their errors are FastAPI's too). */
export const AIBRIX_PLAIN = new Set(["/healthz", "/ready", "/metrics", "/metrics/"]);
