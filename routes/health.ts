// Liveness and readiness. /ready reflects the engine's own health, probed in the background and cached.
import { Hono } from "hono";
import { z } from "zod";
import type { Readiness } from "../engines/readiness.ts";
import { tagged } from "./spec.ts";

const Ok = z.object({ status: z.literal("ok") });
const Ready = z.object({ status: z.literal("ready") });
const NotReady = z.object({ status: z.literal("not ready"), reason: z.string() });

export const healthSpecs = tagged("health", [
  {
    method: "get",
    path: "/healthz",
    summary: "Liveness of the sidecar process",
    responses: { 200: { description: "alive", schema: Ok } },
  },
  {
    method: "get",
    path: "/ready",
    summary: "Readiness: the engine's own health endpoint answers healthy (cached background probe)",
    responses: {
      200: { description: "engine healthy", schema: Ready },
      503: { description: "engine not healthy", schema: NotReady },
    },
  },
]);

export function healthRoutes(readiness: Readiness): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/ready", (c) => {
    const h = readiness.current();
    if (h.healthy) return c.json({ status: "ready" });
    return c.json({ status: "not ready", reason: h.reason ?? "engine not healthy" }, 503);
  });
  return app;
}
