// SGLang: /health, /v1/models, /load_lora_adapter and /unload_lora_adapter answering
// {success, error_message, loaded_adapters} (400 on failure), /release_memory_occupation and
// /resume_memory_occupation for sleep/wake (reference/ENGINES.md §2.2).
import { AppError } from "../errors.ts";
import { authHeaders, type EngineOptions } from "./base.ts";
import { type EngineReply, engineReason, engineRequest, engineStatusError } from "./http.ts";
import type { CallCtx, EngineAdapter } from "./types.ts";
import { openaiCompatibleAdapter } from "./openai-compatible.ts";

const ALREADY = /already (been )?loaded|already exists/i;
const MISSING = /not (been )?loaded|not found|does not exist|cannot be found|no such|unknown/i;

/** SGLang may answer 200 with {"success": false}: that is a failure too. */
const ok = (r: EngineReply) =>
  r.status >= 200 && r.status < 300 && (r.json as { success?: unknown } | undefined)?.success !== false;

export function sglangAdapter(o: EngineOptions): EngineAdapter {
  const base = o.baseUrl;
  const call = (path: string, ctx: CallCtx, body: unknown) =>
    engineRequest(base + path, {
      method: "POST",
      body,
      signal: ctx.signal,
      timeoutMs: o.timeoutMs,
      headers: authHeaders(ctx),
    });
  const asClientError = (r: EngineReply): EngineReply => (r.status < 300 ? { ...r, status: 400 } : r);
  return {
    ...openaiCompatibleAdapter("sglang", o),
    async loadLora({ name, path }, ctx) {
      const r = await call("/load_lora_adapter", ctx, { lora_name: name, lora_path: path });
      if (ok(r)) return { already: false, engineMessage: r.text.trim() };
      const reason = engineReason(r);
      if (r.status < 500 && ALREADY.test(reason)) return { already: true, engineMessage: reason };
      if (r.status < 500 && /no such file|not found|does not exist/i.test(reason))
        throw new AppError("lora_path_not_found", `LoRA path '${path}' not found: ${reason}`);
      throw engineStatusError(asClientError(r), `Failed to load LoRA adapter '${name}'`);
    },
    async unloadLora(name, ctx) {
      const r = await call("/unload_lora_adapter", ctx, { lora_name: name });
      if (ok(r)) return r.text.trim();
      const reason = engineReason(r);
      if (r.status < 500 && MISSING.test(reason))
        throw new AppError("lora_not_found", `LoRA adapter '${name}' not found: ${reason}`);
      throw engineStatusError(asClientError(r), `Failed to unload LoRA adapter '${name}'`);
    },
    // SGLang has no levels: both release all GPU memory (weights and KV cache).
    async sleep(_level, ctx) {
      const r = await call("/release_memory_occupation", ctx, {});
      if (!ok(r)) throw engineStatusError(asClientError(r), "sleep (release_memory_occupation)");
    },
    async wake(ctx) {
      const r = await call("/resume_memory_occupation", ctx, {});
      if (!ok(r)) throw engineStatusError(asClientError(r), "wake (resume_memory_occupation)");
    },
  };
}
