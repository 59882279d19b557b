// vLLM: /health, /v1/models (adapters listed with `parent` set), runtime LoRA routes
// (VLLM_ALLOW_RUNTIME_LORA_UPDATING), dev-mode /sleep and /wake_up (reference/ENGINES.md §1.2).
import { AppError, unsupported } from "../errors.ts";
import { authHeaders, type EngineOptions, listModelsOpenAI } from "./base.ts";
import { engineReason, engineRequest, engineStatusError } from "./http.ts";
import type { CallCtx, EngineAdapter } from "./types.ts";
import { openaiCompatibleAdapter } from "./openai-compatible.ts";
import { adapterIds } from "../lib/model-list.ts";

const ALREADY = /already (been )?loaded|already exists/i;

/** FastAPI's bare 404: the route is not registered (VLLM_ALLOW_RUNTIME_LORA_UPDATING unset). */
const routesDisabled = (capability: string) =>
  new AppError(
    "unsupported",
    `engine 'vllm' does not offer the capability '${capability}': its runtime LoRA routes are disabled (start vLLM with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True and --enable-lora)`,
  );

export function vllmAdapter(o: EngineOptions): EngineAdapter {
  const base = o.baseUrl;
  const call = (path: string, ctx: CallCtx, body?: unknown, method = "POST") =>
    engineRequest(base + path, {
      method,
      body,
      signal: ctx.signal,
      timeoutMs: o.timeoutMs,
      headers: authHeaders(ctx),
    });
  const devRoute = (what: string, reply: { status: number }) => {
    if (reply.status === 404)
      return unsupported(
        `${what} is unsupported by this vLLM (start it with VLLM_SERVER_DEV_MODE=1 and --enable-sleep-mode)`,
        what,
      );
    return null;
  };
  return {
    ...openaiCompatibleAdapter("vllm", o),
    async listLoras(ctx) {
      return adapterIds(await listModelsOpenAI(base, ctx, o.timeoutMs));
    },
    async loadLora({ name, path }, ctx) {
      const r = await call("/v1/load_lora_adapter", ctx, { lora_name: name, lora_path: path });
      if (r.status >= 200 && r.status < 300) return { already: false, engineMessage: r.text.trim() };
      const reason = engineReason(r);
      if (r.status === 400 && ALREADY.test(reason)) return { already: true, engineMessage: reason };
      if (r.status === 404 && reason === "Not Found") throw routesDisabled("lora_load");
      if (r.status === 404 && /no adapter found|not found/i.test(reason))
        throw new AppError("lora_path_not_found", `LoRA path '${path}' not found: ${reason}`);
      throw engineStatusError(r, `Failed to load LoRA adapter '${name}'`);
    },
    async unloadLora(name, ctx) {
      const r = await call("/v1/unload_lora_adapter", ctx, { lora_name: name });
      if (r.status >= 200 && r.status < 300) return r.text.trim();
      if (r.status === 404 && engineReason(r) === "Not Found") throw routesDisabled("lora_unload");
      if (r.status === 404)
        throw new AppError("lora_not_found", `LoRA adapter '${name}' not found: ${engineReason(r)}`);
      throw engineStatusError(r, `Failed to unload LoRA adapter '${name}'`);
    },
    async sleep(level, ctx) {
      const r = await call(`/sleep?level=${level}`, ctx);
      if (r.status >= 200 && r.status < 300) return;
      throw devRoute("sleep", r) ?? engineStatusError(r, "sleep");
    },
    async wake(ctx) {
      const r = await call("/wake_up", ctx);
      if (r.status >= 200 && r.status < 300) return;
      throw devRoute("wake", r) ?? engineStatusError(r, "wake");
    },
  };
}
