// Activation secrets are never written to the engine registry in clear. The values of secret-looking
// engine args (`engine_config.args` `--api-key`, `--hf-token`; any flag with `token` or `key` as a word
// part, or `secret`, `password`, `credential` anywhere, but not `--max-num-batched-tokens`; and the same as `additional_config` `engine-arg:<flag>`), secret-looking
// `additional_config` keys (`api-key`) and credentials inside `artifact_url` are kept in memory only; the
// registry holds "[REDACTED]" in their place.
//
// After a sidecar restart the clear values are gone: an engine still running keeps running (its argv has
// them), but one that must be started again (it died, or its weights were still downloading) cannot be,
// so it is marked failed with a message saying to activate it again. It is never started without its key.
import { isSecretKey, REDACTED, redactUrlCredentials } from "../redact.ts";
import type { EngineConfig, EngineRecord } from "./types.ts";

/** The clear values of an activation, in memory only. */
export interface ClearActivation {
  artifact_url: string;
  engine_config: EngineConfig | null;
  additional_config: Record<string, string> | null;
}

/** A flag or config key whose value is a secret: the redaction rule plus any `key` word part. */
export function isSecretArg(name: string): boolean {
  const bare = name
    .replace(/^engine-arg:/, "")
    .replace(/^-+/, "")
    .replace(/=.*$/s, "");
  // "token" and "key" as word parts only: --hf-token, --api-key, --auth_token are secret; the sizes
  // --max-num-batched-tokens and --tokenizer are not.
  return isSecretKey(bare) || /(^|[-_])(keys?|tokens?)($|[-_])/i.test(bare) ? !/tokens$/i.test(bare) : false;
}

/** A flag written inline (`--api-key=v`) keeps its name visible and hides its value. */
function maskKey(key: string): string {
  const eq = key.indexOf("=");
  return eq > 0 && isSecretArg(key) ? `${key.slice(0, eq)}=${REDACTED}` : key;
}

function maskMap(m: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) out[maskKey(k)] = isSecretArg(k) && v !== "" ? REDACTED : v;
  return out;
}

/** What the registry may hold of an activation. */
export function persistable(c: ClearActivation): ClearActivation {
  return {
    artifact_url: redactUrlCredentials(c.artifact_url),
    engine_config: c.engine_config ? { ...c.engine_config, args: maskMap(c.engine_config.args ?? {}) } : null,
    additional_config: c.additional_config ? maskMap(c.additional_config) : null,
  };
}
/** The clear values of a record read back from the registry: null when some were not kept. */
export function clearOfRecord(rec: EngineRecord): ClearActivation | null {
  const c = {
    artifact_url: rec.artifact_url,
    engine_config: rec.engine_config,
    additional_config: rec.additional_config,
  };
  return JSON.stringify(c).includes(REDACTED) ? null : c;
}
