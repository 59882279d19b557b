// Secrets never reach a log line, an error body or a file on disk. Two defences:
// 1. fields whose *name* looks secret are replaced wholesale;
// 2. values registered as secrets at runtime (tokens from env, request credentials) are masked wherever
//    they appear inside any string.
// Registered values are scoped: outside any scope (start-up: env, config, key files) a value is kept for the
// life of the process, a bounded set. Inside `withSecretScope` (every HTTP request, every background
// operation such as a download job) it is held while the scope runs and released when it ends, so request
// credentials never accumulate. Work that outlives its scope without one of its own lands in a small
// most-recent set, bounded too.
import { AsyncLocalStorage } from "node:async_hooks";

// "token" only as a whole word part (hf_token, session-token), so prompt_tokens stays readable.
const SECRET_KEY =
  /(secret|(^|[-_])token($|[-_])|password|passwd|credential|authorization|api[-_]?key|access[-_]?key|private[-_]?key|signature|cookie)/i;
export const REDACTED = "[REDACTED]";

const processSecrets = new Set<string>();
/** Values of running scopes, with the number of scopes holding each. */
const held = new Map<string, number>();
/** Values registered in a scope that had already ended, most recent last. */
const recent = new Set<string>();
const RECENT_MAX = 256;

interface SecretScope {
  values: Set<string>;
  open: boolean;
}
const scopes = new AsyncLocalStorage<SecretScope>();

/**
 * Remember a secret value so it is masked wherever it shows up: for the process's life outside any scope,
 * while the current scope runs inside one. Values shorter than 6 characters are ignored.
 */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < 6) return;
  const scope = scopes.getStore();
  if (!scope) {
    processSecrets.add(value);
  } else if (scope.open) {
    if (scope.values.has(value)) return;
    scope.values.add(value);
    held.set(value, (held.get(value) ?? 0) + 1);
  } else {
    recent.delete(value);
    recent.add(value);
    if (recent.size > RECENT_MAX) recent.delete(recent.values().next().value as string);
  }
}

/** Run `fn` in a secret scope: values registered while it runs are released when it settles. */
export async function withSecretScope<T>(fn: () => Promise<T>): Promise<T> {
  const scope: SecretScope = { values: new Set(), open: true };
  try {
    return await scopes.run(scope, fn);
  } finally {
    scope.open = false;
    for (const v of scope.values) {
      const n = (held.get(v) ?? 1) - 1;
      if (n <= 0) held.delete(v);
      else held.set(v, n);
    }
    scope.values.clear();
  }
}

/** How many distinct values are registered now (process-wide, held by running scopes, recent). */
export function secretCount(): number {
  return processSecrets.size + held.size + recent.size;
}

function* knownSecrets(): Iterable<string> {
  yield* processSecrets;
  yield* held.keys();
  yield* recent;
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

export function redactString(s: string): string {
  let out = s;
  for (const secret of knownSecrets()) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return redactUrlCredentials(out);
}

// Query parameters that carry credentials in signed or keyed URLs (S3 presigned, SAS, API keys).
const URL_SECRET_PARAMS =
  /([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|token|access_token|sig|apikey|api_key|api-key|key|password|secret)=)[^&#\s"']+/gi;

/**
 * Credentials embedded in URLs, wherever they appear in `s`: the password of `user:pass@host` (a lone
 * userinfo, `token@host`, is the credential itself) and signed-URL query parameters. Used on every URL
 * before it is saved to a file, returned by the API or logged.
 */
export function redactUrlCredentials(s: string): string {
  return s
    .replace(/(\/\/)([^/@\s:?#]+):([^/@\s?#]+)@/g, `$1$2:${REDACTED}@`)
    .replace(/(\/\/)([^/@\s:?#]+)@/g, `$1${REDACTED}@`)
    .replace(URL_SECRET_PARAMS, `$1${REDACTED}`);
}

export function redactDeep(v: unknown, depth = 0): unknown {
  if (depth > 8) return "[…]";
  if (typeof v === "string") return redactString(v);
  if (Array.isArray(v)) return v.map((x) => redactDeep(x, depth + 1));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) {
      out[k] =
        isSecretKey(k) && val !== null && val !== undefined && val !== ""
          ? REDACTED
          : redactDeep(val, depth + 1);
    }
    return out;
  }
  return v;
}
