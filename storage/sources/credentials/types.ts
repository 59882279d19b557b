// What every credential provider hands out, and the cache that refreshes temporary credentials before they
// expire (concurrent callers share one refresh). `source` names where the credentials came from, for
// messages: it is never secret.
import { readFile } from "node:fs/promises";
import { registerSecret } from "../../../redact.ts";
import { DownloadError } from "../../errors.ts";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Epoch milliseconds; absent for long-lived keys. */
  expiration?: number;
  /** Where these came from ("environment (AWS_ACCESS_KEY_ID)", "EKS Pod Identity http://..."). */
  source: string;
}

export type CredentialProvider = () => Promise<AwsCredentials>;

/** A bearer token (OAuth access token, HF token) with where it came from. */
export interface BearerToken {
  token: string;
  expiration?: number;
  source: string;
}

export type TokenProvider = () => Promise<BearerToken>;

export interface RefreshOptions {
  /** Refresh this long before the expiration (default 5 minutes). */
  refreshBeforeMs?: number;
  now?: () => number;
}

/**
 * Caches what `fetchFresh` returns until `refreshBeforeMs` before its expiration (no expiration: forever);
 * concurrent callers share one fetch; a failed fetch is not cached.
 */
export function refreshing<T extends { expiration?: number }>(
  fetchFresh: () => Promise<T>,
  o: RefreshOptions = {},
): () => Promise<T> {
  let cached: T | undefined;
  let inflight: Promise<T> | undefined;
  const now = o.now ?? Date.now;
  const margin = o.refreshBeforeMs ?? 5 * 60_000;
  return async () => {
    if (cached && (cached.expiration === undefined || cached.expiration - margin > now())) return cached;
    inflight ??= fetchFresh()
      .then((v) => {
        cached = v;
        return v;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
}

/** Register every secret part of a credential set for redaction and return it. */
export function registered(c: AwsCredentials): AwsCredentials {
  registerSecret(c.secretAccessKey);
  registerSecret(c.sessionToken);
  return c;
}

/**
 * The credential JSON the container agent and instance metadata answer ({AccessKeyId, SecretAccessKey,
 * Token, Expiration}), registered for redaction; undefined when it carries no key pair.
 */
export function awsJsonCredentials(
  body: Record<string, unknown>,
  source: string,
): AwsCredentials | undefined {
  const { AccessKeyId: id, SecretAccessKey: secret, Token: session } = body;
  if (typeof id !== "string" || typeof secret !== "string") return undefined;
  return registered({
    accessKeyId: id,
    secretAccessKey: secret,
    sessionToken: typeof session === "string" ? session : undefined,
    expiration: parseExpiration(body.Expiration),
    source,
  });
}

/**
 * An OAuth token answer ({access_token, expires_in}) as a bearer token registered for redaction; an answer
 * without access_token is an `auth` error. A missing or non-positive expires_in counts as `defaultTtlSec`.
 */
export function oauthToken(
  body: Record<string, unknown>,
  source: string,
  nowMs: number,
  defaultTtlSec: number,
): BearerToken {
  if (typeof body.access_token !== "string")
    throw new DownloadError("auth", `${source} returned no access_token`);
  registerSecret(body.access_token);
  const ttl = Number(body.expires_in);
  return {
    token: body.access_token,
    expiration: nowMs + (Number.isFinite(ttl) && ttl > 0 ? ttl : defaultTtlSec) * 1000,
    source,
  };
}

/** Static keys (environment, a request's credentials map, a shared credentials file). */
export function staticCredentials(c: Omit<AwsCredentials, "expiration">): CredentialProvider {
  registered(c);
  return async () => c;
}

/**
 * A key pair from settings or a request: both parts -> static credentials, neither -> undefined (not
 * configured), one alone -> a `credentials` error naming the two settings (`names`).
 */
export function staticKeys(
  id: string | undefined,
  secret: string | undefined,
  session: string | undefined,
  what: string,
  names: string,
  source: string,
): CredentialProvider | undefined {
  if (id && secret)
    return staticCredentials({ accessKeyId: id, secretAccessKey: secret, sessionToken: session, source });
  if (id || secret)
    throw new DownloadError("credentials", `${what}: only one of ${names} is set; both are needed`);
  return undefined;
}

/** Parse an ISO-8601 / RFC 3339 expiration; absent or unparsable -> undefined. */
export function parseExpiration(v: unknown): number | undefined {
  if (typeof v !== "string" || v === "") return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * A file a credential setting names (`setting`: the variable, for the message): its text, or a `credentials`
 * error "<prefix>cannot read <setting> <path>: <why>".
 */
export async function readCredentialFile(path: string, setting: string, prefix = ""): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw new DownloadError(
      "credentials",
      `${prefix}cannot read ${setting} ${path}: ${(e as Error).message}`,
    );
  }
}
