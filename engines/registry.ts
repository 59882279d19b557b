// Static registry: engine kind -> adapter factory. Unknown kinds never get here (config falls back to generic).
import type { EngineKind } from "../config.ts";
import type { EngineOptions } from "./base.ts";
import { genericAdapter } from "./generic.ts";
import { llamacppAdapter } from "./llamacpp.ts";
import { sglangAdapter } from "./sglang.ts";
import { tgiAdapter } from "./tgi.ts";
import { tritonAdapter } from "./triton.ts";
import { trtllmAdapter } from "./trtllm.ts";
import type { EngineAdapter } from "./types.ts";
import { vllmAdapter } from "./vllm.ts";

export const ENGINE_FACTORIES: Record<EngineKind, (o: EngineOptions) => EngineAdapter> = {
  vllm: vllmAdapter,
  sglang: sglangAdapter,
  llamacpp: llamacppAdapter,
  tgi: tgiAdapter,
  trtllm: trtllmAdapter,
  triton: tritonAdapter,
  generic: genericAdapter,
};

export function createEngineAdapter(kind: EngineKind, o: EngineOptions): EngineAdapter {
  return ENGINE_FACTORIES[kind](o);
}
