// The guards every request passes, in order: auth (before reading any body), body size, JSON shape, deadline.
import { readFile } from "node:fs/promises";
import type { MiddlewareHandler } from "hono";
import type { Config } from "../config.ts";
import { ConfigError } from "../config.ts";
import { registerSecret } from "../redact.ts";
import { apiKeyGuard } from "./auth.ts";
import { bodySizeGuard, deadlineGuard, jsonShapeGuard } from "./limits.ts";

/** The API key from AIRUNTIME_API_KEY, or the first line of AIRUNTIME_API_KEY_FILE (a mounted Secret). */
export async function resolveApiKey(config: Config): Promise<string | undefined> {
  if (config.apiKey) return config.apiKey;
  if (!config.apiKeyFile) return undefined;
  let text: string;
  try {
    text = await readFile(config.apiKeyFile, "utf8");
  } catch (e) {
    throw new ConfigError([
      `AIRUNTIME_API_KEY_FILE: cannot read ${config.apiKeyFile} (${(e as NodeJS.ErrnoException).code ?? e})`,
    ]);
  }
  const key = text.split("\n")[0]?.trim();
  if (!key) throw new ConfigError([`AIRUNTIME_API_KEY_FILE: ${config.apiKeyFile} is empty`]);
  return key;
}

export async function securityGuards(config: Config): Promise<MiddlewareHandler[]> {
  const guards: MiddlewareHandler[] = [];
  const key = await resolveApiKey(config);
  if (key) {
    registerSecret(key);
    guards.push(apiKeyGuard(key, config.metricsAuth));
  }
  guards.push(bodySizeGuard(config.maxBodyBytes), jsonShapeGuard(), deadlineGuard(config.requestTimeoutMs));
  return guards;
}
