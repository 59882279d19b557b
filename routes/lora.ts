// AIBrix's LoRA API: POST /v1/lora_adapter/load (direct and delegation bodies), POST /v1/lora_adapter/unload,
// plus GET /v1/lora_adapter (what the sidecar loaded next to what the engine reports). Success bodies are
// AIBrix's (reference/AIBRIX-RUNTIME.md §1.4, §1.5); errors carry real statuses and the controller's retry
// words instead of AIBrix's blanket 500 (B4), and unload reports the engine's real outcome (B2).
import { asDownloadError } from "../storage/errors.ts";
import { Hono } from "hono";
import { z } from "zod";
import { AppError, errorMessage, reshaped } from "../errors.ts";
import type { LoraManager } from "../lora/manager.ts";
import { capabilities, type EngineAdapter } from "../engines/types.ts";
import { redactString } from "../redact.ts";
import { tagged } from "./spec.ts";
import { jsonBody } from "./validate.ts";

const StrMap = z.record(z.string(), z.string());

export const LoadLoraAdapterRuntimeRequest = z.strictObject({
  lora_name: z.string(),
  artifact_url: z.string(),
  credentials_secret: z.string().nullable().optional(),
  credentials: StrMap.nullable().optional(),
  additional_config: StrMap.nullable().optional(),
  local_dir: z.string().nullable().optional(),
});
export const LoadLoraAdapterRequest = z.strictObject({ lora_name: z.string(), lora_path: z.string() });
const LoadBody = z.union([LoadLoraAdapterRuntimeRequest, LoadLoraAdapterRequest]);

export const UnloadLoraAdapterRuntimeRequest = z.strictObject({
  lora_name: z.string(),
  cleanup_local: z.boolean().default(true),
});
export const UnloadLoraAdapterRequest = z.strictObject({
  lora_name: z.string(),
  lora_int_id: z.number().int().nullable().optional(),
});
// Same member order as AIBrix: a plain {"lora_name"} is the runtime (cleanup) request, as pydantic picks it.
const UnloadBody = z.union([UnloadLoraAdapterRuntimeRequest, UnloadLoraAdapterRequest]);

const LOAD_NAMES = ["LoadLoraAdapterRuntimeRequest", "LoadLoraAdapterRequest"];
const UNLOAD_NAMES = ["UnloadLoraAdapterRuntimeRequest", "UnloadLoraAdapterRequest"];

const DelegationOk = z.object({
  status: z.literal("success"),
  message: z.string(),
  local_path: z.string(),
  engine_response: z.object({ message: z.string() }),
});
const ErrorBody = z.object({ error: z.string() });
const EngineErrorBody = z.object({
  object: z.literal("error"),
  message: z.string(),
  type: z.string(),
  param: z.null(),
  code: z.number(),
});
const UnloadOk = z.object({ status: z.literal("success"), message: z.string() });

export const loraSpecs = tagged("lora", [
  {
    method: "post",
    path: "/v1/lora_adapter/load",
    summary:
      "Load a LoRA adapter: direct {lora_name, lora_path} or delegation {lora_name, artifact_url, ...} (download, then load)",
    body: LoadBody,
    responses: {
      200: {
        description:
          "loaded (delegation: JSON; direct: text `Success: LoRA adapter '<n>' loaded successfully from '<path>'.`)",
        schema: DelegationOk,
      },
      400: {
        description: "bad name, scheme or path (delegation: {error}; direct: engine error object)",
        schema: ErrorBody,
      },
      404: { description: "artifact or path not found", schema: ErrorBody },
      422: { description: "unknown field or wrong type (FastAPI detail)" },
      501: { description: "the engine cannot load adapters at runtime", schema: EngineErrorBody },
      503: { description: "engine unreachable or still loading: body says 'service unavailable'; retry" },
    },
  },
  {
    method: "post",
    path: "/v1/lora_adapter/unload",
    summary:
      "Unload a LoRA adapter; reports the engine's real outcome; removes files only the sidecar downloaded",
    body: UnloadBody,
    responses: {
      200: { description: "unloaded", schema: UnloadOk },
      404: { description: "the engine does not have this adapter", schema: ErrorBody },
      422: { description: "unknown field or wrong type (FastAPI detail)" },
      503: { description: "engine unreachable: retry" },
    },
  },
  {
    method: "get",
    path: "/v1/lora_adapter",
    summary: "Adapters the sidecar loaded (name, source, path, time) next to what the engine reports",
    responses: { 200: { description: "adapter registry", schema: z.record(z.string(), z.unknown()) } },
  },
]);

function asAppError(e: unknown, what: string): AppError {
  if (e instanceof AppError) return e;
  // A local file-system failure (permissions, read-only, a file in the way, no space): 500/507 naming the
  // path, the uid and the fix.
  const d = asDownloadError(e);
  if (d.reason === "local_io" || d.reason === "no_space")
    return new AppError(d.code, `${what}: ${d.message}`, { status: d.status, cause: e });
  return new AppError("internal", `${what}: ${errorMessage(e)}`, { cause: e });
}

/** Delegation errors keep AIBrix's {"error": msg} body, with a status the controller can act on. */
const delegationError = (e: unknown, what: string) => reshaped(asAppError(e, what), "error");

/** Direct-mode errors keep AIBrix's engine ErrorResponse {object, message, type, param, code}. */
const directError = (e: unknown, what: string) => reshaped(asAppError(e, what), "openai");

/** AIBrix answers direct-mode success as text with no Content-Type; a stream body keeps the runtime
 * from adding one (it would for a string or bytes). */
const plainText = (s: string) => {
  const bytes = new TextEncoder().encode(s);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
  return new Response(body, { status: 200, headers: { "content-length": String(bytes.length) } });
};

export function loraRoutes(lora: LoraManager, engine: EngineAdapter): Hono {
  const app = new Hono();

  app.post("/v1/lora_adapter/load", jsonBody(LoadBody, LOAD_NAMES), async (c) => {
    const body = c.req.valid("json");
    const authorization = c.req.header("authorization");
    if ("artifact_url" in body) {
      const out = await lora
        .load({
          mode: "delegation",
          name: body.lora_name,
          artifact_url: body.artifact_url,
          credentials: body.credentials,
          credentials_secret: body.credentials_secret,
          additional_config: body.additional_config,
          local_dir: body.local_dir,
          authorization,
        })
        .catch((e) => Promise.reject(delegationError(e, "Failed to load adapter")));
      return c.json({
        status: "success",
        message: `Successfully loaded adapter ${out.name} from ${body.artifact_url}`,
        local_path: out.path,
        engine_response: {
          message: `Success: LoRA adapter '${out.name}' loaded successfully from '${out.path}'.`,
        },
      });
    }
    const out = await lora
      .load({ mode: "direct", name: body.lora_name, lora_path: body.lora_path, authorization })
      .catch((e) => Promise.reject(directError(e, "Failed to load adapter")));
    return plainText(`Success: LoRA adapter '${out.name}' loaded successfully from '${out.path}'.`);
  });

  app.post("/v1/lora_adapter/unload", jsonBody(UnloadBody, UNLOAD_NAMES), async (c) => {
    const body = c.req.valid("json");
    const authorization = c.req.header("authorization");
    if ("cleanup_local" in body) {
      await lora
        .unload(body.lora_name, { cleanupLocal: body.cleanup_local, authorization })
        .catch((e) => Promise.reject(delegationError(e, "Failed to unload adapter")));
      return c.json({ status: "success", message: `Successfully unloaded adapter ${body.lora_name}` });
    }
    await lora
      .unload(body.lora_name, { cleanupLocal: false, authorization })
      .catch((e) => Promise.reject(directError(e, "Failed to unload adapter")));
    return plainText(`Success: LoRA adapter '${body.lora_name}' unloaded successfully.`);
  });

  app.get("/v1/lora_adapter", async (c) => {
    let listed: Awaited<ReturnType<LoraManager["list"]>> | null = null;
    let engineError: string | undefined;
    try {
      listed = await lora.list(c.req.header("authorization"));
    } catch (e) {
      engineError = redactString(errorMessage(e));
    }
    return c.json({
      object: "list",
      engine: engine.kind,
      capabilities: capabilities(engine),
      data: listed?.adapters ?? lora.registry().map((r) => ({ ...r, in_engine: null })),
      engine_adapters: listed?.engine ?? null,
      ...(engineError ? { engine_error: engineError } : {}),
    });
  });

  return app;
}
