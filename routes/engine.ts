// GET /v1/models: the engine's OpenAI model list, unchanged, with the caller's Authorization forwarded (B3).
import { Hono } from "hono";
import { z } from "zod";
import type { EngineAdapter } from "../engines/types.ts";
import { tagged } from "./spec.ts";

const ModelList = z.object({ object: z.string(), data: z.array(z.looseObject({ id: z.string() })) }).loose();

export const engineSpecs = tagged("engine", [
  {
    method: "get",
    path: "/v1/models",
    summary: "The engine's OpenAI model list, passed through unchanged",
    responses: {
      200: { description: "engine model list", schema: ModelList },
      503: { description: "engine unreachable (body says 'connection refused' / 'service unavailable')" },
    },
  },
]);

export function engineRoutes(engine: EngineAdapter): Hono {
  const app = new Hono();
  app.get("/v1/models", async (c) => {
    const models = await engine.listModels({
      signal: c.req.raw.signal,
      authorization: c.req.header("authorization"),
    });
    return c.json(models as Record<string, unknown>);
  });
  return app;
}
