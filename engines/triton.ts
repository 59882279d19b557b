// Triton Inference Server: KServe v2 health (/v2/health/ready), model list from POST /v2/repository/index
// turned into an OpenAI list, metrics on /metrics (port 8002 in real deployments; METRIC_SCRAPE_PATH or the
// endpoint decide). LoRA is per request (tensors + cache), so no load/unload (reference/ENGINES.md §6, §10).
import { AppError } from "../errors.ts";
import { authHeaders, type EngineOptions, healthByPath } from "./base.ts";
import { engineRequest, engineStatusError } from "./http.ts";
import type { EngineAdapter } from "./types.ts";
import { rulesFor } from "../metrics/rules.ts";

interface IndexEntry {
  name?: unknown;
  version?: unknown;
  state?: unknown;
}

export function tritonAdapter(o: EngineOptions): EngineAdapter {
  return {
    kind: "triton",
    baseUrl: o.baseUrl,
    metricsPath: o.metricsPath ?? "/metrics",
    rules: rulesFor("triton"),
    health: (signal) => healthByPath(o.baseUrl, "/v2/health/ready", signal, Math.min(o.timeoutMs, 2000)),
    async listModels(ctx) {
      const r = await engineRequest(`${o.baseUrl}/v2/repository/index`, {
        method: "POST",
        body: {},
        signal: ctx.signal,
        timeoutMs: o.timeoutMs,
        headers: authHeaders(ctx),
      });
      if (r.status < 200 || r.status >= 300) throw engineStatusError(r, "list models");
      if (!Array.isArray(r.json))
        throw new AppError("engine_error", "list models: Triton index is not a JSON array (bad gateway)");
      const data = (r.json as IndexEntry[])
        .filter((m) => typeof m.name === "string")
        .map((m) => ({
          id: m.name as string,
          object: "model",
          owned_by: "triton",
          ...(m.version !== undefined ? { version: m.version } : {}),
          ...(m.state !== undefined ? { state: m.state } : {}),
        }));
      return { object: "list", data };
    },
  };
}
