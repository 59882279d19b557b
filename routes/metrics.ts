// GET /metrics (and /metrics/, no redirect): the sidecar's own metrics, then the engine snapshot.
// Text 0.0.4 by default, OpenMetrics when Accept asks for it, gzip when Accept-Encoding allows.
// Never waits on the engine (the poller keeps the snapshot; see metrics/poller.ts).
import { z } from "zod";
import { gzipSync } from "node:zlib";
import { Hono } from "hono";
import type { OwnMetrics } from "../metrics/own.ts";
import type { MetricsPoller } from "../metrics/poller.ts";
import { CONTENT_TYPE, type ExpositionFormat, OPENMETRICS_EOF, renderFamilies } from "../metrics/render.ts";
import type { MetricFamily } from "../metrics/types.ts";
import { tagged } from "./spec.ts";

export const metricsSpecs = tagged("metrics", [
  {
    method: "get",
    path: "/metrics",
    summary:
      "Prometheus metrics: the engine's families (per mode), standardized aibrix:* families and the sidecar's own",
    responses: {
      200: {
        description:
          "text 0.0.4 (default) or OpenMetrics (Accept: application/openmetrics-text); gzip on request",
        contentType: CONTENT_TYPE.text,
        schema: z.string().describe("Prometheus exposition text"),
      },
    },
  },
  {
    method: "post",
    path: "/metrics",
    summary:
      "The same metrics as GET (the AIBrix runtime served any method on /metrics/); the body is ignored",
    body: z.unknown().describe("ignored"),
    responses: {
      200: {
        description: "as GET /metrics",
        contentType: CONTENT_TYPE.text,
        schema: z.string().describe("Prometheus exposition text"),
      },
    },
  },
]);

/** Accept header asks for OpenMetrics (with a non-zero q). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const part of accept.split(",")) {
    const [type, ...params] = part.trim().split(";");
    if (type?.trim().toLowerCase() !== "application/openmetrics-text") continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    if (!q || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  for (const part of acceptEncoding.split(",")) {
    const [enc, ...params] = part.trim().split(";");
    const e = enc?.trim().toLowerCase();
    if (e !== "gzip" && e !== "*") continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return !q || Number(q.slice(2)) > 0;
  }
  return false;
}

const ENCODER = new TextEncoder();
const EOF_BYTES = ENCODER.encode(OPENMETRICS_EOF);
const EOF_GZ = gzipSync(EOF_BYTES);

export interface MetricsRouteDeps {
  poller: MetricsPoller;
  /** Registries of the sidecar's own metrics (per instance first, then the process-wide one). */
  own: readonly OwnMetrics[];
}

/** Own families of every registry, the first registry winning a name clash (no family twice). */
export function ownFamilies(own: readonly OwnMetrics[]): MetricFamily[] {
  if (own.length === 1) return own[0]!.families();
  const seen = new Set<string>();
  const out: MetricFamily[] = [];
  for (const r of own)
    for (const f of r.families())
      if (!seen.has(f.name)) {
        seen.add(f.name);
        out.push(f);
      }
  return out;
}

export function metricsRoutes(deps: MetricsRouteDeps): Hono {
  const app = new Hono();
  const handler = async (c: import("hono").Context) => {
    const format: ExpositionFormat = wantsOpenMetrics(c.req.header("accept")) ? "openmetrics" : "text";
    const snapshot = await deps.poller.fresh();
    const ownFams = ownFamilies(deps.own).filter((f) => !snapshot.familyNames.has(f.name));
    const headers: Record<string, string> = {
      "content-type": CONTENT_TYPE[format],
      "cache-control": "no-store",
      vary: "Accept, Accept-Encoding",
    };
    // `?name[]=a&name[]=b` keeps only those families, as prometheus_client (the AIBrix runtime) does.
    const wanted = c.req.queries("name[]");
    if (wanted && wanted.length > 0) {
      const keep = new Set(wanted);
      const body =
        renderFamilies(
          [...ownFams, ...snapshot.families].filter(
            (f) => keep.has(f.name) || f.samples.some((x) => keep.has(x.name)),
          ),
          format,
        ) + (format === "openmetrics" ? OPENMETRICS_EOF : "");
      return new Response(body, { status: 200, headers });
    }
    const own = renderFamilies(ownFams, format);
    if (acceptsGzip(c.req.header("accept-encoding"))) {
      // gzip members concatenate into one valid gzip stream (RFC 1952 §2.2): the snapshot's member is
      // compressed once per poll, only the small own part per scrape.
      const parts = [gzipSync(own, { level: 1 }), snapshot.gzipped(format)];
      if (format === "openmetrics") parts.push(EOF_GZ);
      headers["content-encoding"] = "gzip";
      return new Response(concat(parts), { status: 200, headers });
    }
    // The snapshot's bytes are encoded once per poll; only the small own part is encoded per scrape.
    const parts = [ENCODER.encode(own), snapshot.bytes(format)];
    if (format === "openmetrics") parts.push(EOF_BYTES);
    return new Response(concat(parts), { status: 200, headers });
  };
  app.get("/metrics", handler);
  app.get("/metrics/", handler);
  // AIBrix mounted prometheus_client's ASGI app, which answers every method.
  app.post("/metrics", handler);
  app.post("/metrics/", handler);
  return app;
}

function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
