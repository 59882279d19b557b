// The engine's own version, for aibrix:info_info{engine_version}: vLLM and TRT-LLM GET /version,
// SGLang GET /get_server_info, TGI GET /info all answer {"version": "..."}. Other engines do not say.
import type { EngineKind } from "../config.ts";
import { engineRequest } from "./http.ts";

const VERSION_PATH: Partial<Record<EngineKind, string>> = {
  vllm: "/version",
  trtllm: "/version",
  sglang: "/get_server_info",
  tgi: "/info",
};

/** The version string the engine reports, or null when it cannot tell (or does not answer sensibly). */
export async function fetchEngineVersion(
  kind: EngineKind,
  baseUrl: string,
  signal: AbortSignal,
  timeoutMs = 2000,
): Promise<string | null> {
  const path = VERSION_PATH[kind];
  if (!path) return null;
  const r = await engineRequest(new URL(path, baseUrl).href, { signal, timeoutMs });
  const v = (r.json as { version?: unknown } | undefined)?.version;
  if (r.status !== 200 || typeof v !== "string") return null;
  // A label value from an untrusted peer: short, printable.
  const clean = v.trim().slice(0, 64);
  return /^[\w.+:~-]+$/.test(clean) ? clean : null;
}

/** Whether this engine kind can report its version. */
export const reportsVersion = (kind: EngineKind) => VERSION_PATH[kind] !== undefined;
