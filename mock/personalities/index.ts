// The static table of personalities, one module per engine.
import type { MockEngineName, Personality } from "../types.ts";
import { vllm } from "./vllm.ts";

export const PERSONALITIES: Partial<Record<MockEngineName, Personality>> = { vllm };
