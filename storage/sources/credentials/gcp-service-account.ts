// A Google service account key (the JSON of GOOGLE_APPLICATION_CREDENTIALS, or a request's
// gcp_service_account_json): an RS256 JWT signed with WebCrypto ({iss: client_email, scope, aud: token_uri,
// iat, exp}) exchanged at token_uri (grant_type jwt-bearer) for an OAuth access token, refreshed before it
// expires. The private key never leaves memory; every token is registered for redaction.
import { registerSecret } from "../../../redact.ts";
import { DownloadError } from "../../errors.ts";
import type { UrlGuard } from "../guard.ts";
import { send } from "../http-util.ts";
import { oauthToken, type RefreshOptions, refreshing, type TokenProvider } from "./types.ts";
import { TOKEN_EXCHANGE_TIMEOUT_MS } from "./endpoint-call.ts";

export const DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token";
export const GCS_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only";

export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
}

/** Parse and check a service-account JSON; `where` names it in errors (never its content). */
export function parseServiceAccount(json: string, where: string): ServiceAccountKey {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new DownloadError("credentials", `${where} is not JSON`);
  }
  const o = v as Record<string, unknown>;
  if (o?.type !== undefined && o.type !== "service_account")
    throw new DownloadError(
      "credentials",
      `${where} is a '${String(o.type)}' credential; only service_account keys are supported (use the metadata server for Workload Identity)`,
    );
  if (typeof o?.client_email !== "string" || typeof o.private_key !== "string")
    throw new DownloadError("credentials", `${where} has no client_email / private_key`);
  registerSecret(o.private_key);
  return o as unknown as ServiceAccountKey;
}

const b64url = (b: Uint8Array | string) =>
  Buffer.from(typeof b === "string" ? new TextEncoder().encode(b) : b).toString("base64url");

async function signJwt(key: ServiceAccountKey, aud: string, nowSec: number, where: string): Promise<string> {
  const pem = key.private_key.replace(/-----(BEGIN|END) PRIVATE KEY-----|\s/g, "");
  let k: CryptoKey;
  try {
    k = await crypto.subtle.importKey(
      "pkcs8",
      Buffer.from(pem, "base64"),
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["sign"],
    );
  } catch {
    throw new DownloadError("credentials", `${where}: private_key is not a PKCS#8 RSA key`);
  }
  const header = b64url(
    JSON.stringify({ alg: "RS256", typ: "JWT", ...(key.private_key_id ? { kid: key.private_key_id } : {}) }),
  );
  const claims = b64url(
    JSON.stringify({ iss: key.client_email, scope: GCS_SCOPE, aud, iat: nowSec, exp: nowSec + 3600 }),
  );
  const sig = await crypto.subtle.sign(
    "RSASSA-PKCS1-v1_5",
    k,
    new TextEncoder().encode(`${header}.${claims}`),
  );
  return `${header}.${claims}.${b64url(new Uint8Array(sig))}`;
}

export interface ServiceAccountOptions extends RefreshOptions {
  /** Loads the key (a file read at first use, or the request's JSON). */
  key: () => Promise<ServiceAccountKey>;
  /** Names the key in messages ("GOOGLE_APPLICATION_CREDENTIALS /path", "the request's gcp_service_account_json"). */
  where: string;
  /** Replaces the key's token_uri (AIRUNTIME_GCS_TOKEN_URI). */
  tokenUri?: string;
  /** Checks a token_uri that came from a request before it is called. */
  guard?: UrlGuard;
}

export function serviceAccountToken(o: ServiceAccountOptions): TokenProvider {
  const now = o.now ?? Date.now;
  return refreshing(async () => {
    const key = await o.key();
    const tokenUri = o.tokenUri ?? key.token_uri ?? DEFAULT_TOKEN_URI;
    const source = `service account ${key.client_email} (${o.where}, token endpoint ${new URL(tokenUri).origin})`;
    await o.guard?.(new URL(tokenUri), `${o.where}: token_uri`);
    const assertion = await signJwt(key, tokenUri, Math.floor(now() / 1000), o.where);
    registerSecret(assertion);
    const res = await send(
      tokenUri,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
          assertion,
        }).toString(),
        // A hung token endpoint must not hang the download that waits for its token.
        signal: AbortSignal.timeout(TOKEN_EXCHANGE_TIMEOUT_MS),
      },
      source,
    );
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok)
      throw new DownloadError(
        "auth",
        `${source} refused the key: HTTP ${res.status}${typeof body.error === "string" ? ` ${body.error}` : ""}`,
      );
    return oauthToken(body, source, now(), 3600);
  }, o);
}
