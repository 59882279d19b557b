// The static table of personalities, one module per engine.
import type { MockEngineName, Personality } from "../types.ts";
import { llamacpp } from "./llamacpp.ts";
import { sglang } from "./sglang.ts";
import { tgi } from "./tgi.ts";
import { trtllm } from "./trtllm.ts";
import { triton } from "./triton.ts";
import { vllm } from "./vllm.ts";

export const PERSONALITIES: Record<MockEngineName, Personality> = {
  vllm,
  sglang,
  llamacpp,
  tgi,
  trtllm,
  triton,
};
