// Engine kind -> adapter. Unknown kinds never get here (config falls back to generic).
import type { EngineKind } from "../config.ts";
import type { EngineOptions } from "./base.ts";
import { OPENAI_COMPATIBLE, openaiCompatibleAdapter } from "./openai-compatible.ts";
import { sglangAdapter } from "./sglang.ts";
import { tritonAdapter } from "./triton.ts";
import type { EngineAdapter } from "./types.ts";
import { vllmAdapter } from "./vllm.ts";

const DEDICATED = { vllm: vllmAdapter, sglang: sglangAdapter, triton: tritonAdapter } as const;

export function createEngineAdapter(kind: EngineKind, o: EngineOptions): EngineAdapter {
  return kind in OPENAI_COMPATIBLE
    ? openaiCompatibleAdapter(kind, o)
    : DEDICATED[kind as keyof typeof DEDICATED](o);
}
