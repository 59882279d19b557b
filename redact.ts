// Secrets never reach a log line, an error body or a file on disk. Two defences:
// 1. fields whose *name* looks secret are replaced wholesale;
// 2. values registered as secrets at runtime (tokens from env, request credentials) are masked wherever
//    they appear inside any string.

// "token" only as a whole word part (hf_token, session-token), so prompt_tokens stays readable.
const SECRET_KEY =
  /(secret|(^|[-_])token($|[-_])|password|passwd|credential|authorization|api[-_]?key|access[-_]?key|private[-_]?key|signature|cookie)/i;
export const REDACTED = "[REDACTED]";

const knownSecrets = new Set<string>();

/** Remember a secret value so it is masked wherever it shows up later. Short values are ignored. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 6) knownSecrets.add(value);
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

export function redactString(s: string): string {
  let out = s;
  for (const secret of knownSecrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  // Credentials embedded in URLs (user:pass@host) and signed-URL query parameters.
  out = out.replace(/(\/\/)([^/@\s:]+):([^/@\s]+)@/g, `$1$2:${REDACTED}@`);
  out = out.replace(
    /([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|token|sig)=)[^&\s"]+/gi,
    `$1${REDACTED}`,
  );
  return out;
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
