// Picks and configures the source for a parsed URI. Credentials come, in order, from the request's
// credentials map (AIBrix's keys: aws_access_key_id, huggingface_token, TOS_ACCESS_KEY, ...), from the
// request's download_extra_config (ak, sk, endpoint, region, hf_token, ...), then from the environment.
// Trust boundary: environment credentials (HF_TOKEN, AWS_*, TOS_*, GCS_*) go only to the environment's
// endpoints. An endpoint the request names (hf_endpoint, endpoint, aws_endpoint_url, ...) is a source of its
// own: it must pass AIRUNTIME_ALLOWED_SOURCES as an http(s) URL and the link-local rule (guard.ts), and it is
// sent only the credentials the request itself carries. A request-supplied region must be a plain region
// name, so it cannot turn the default endpoint into another host.
import { sourceAllowed, urlAllowed } from "../../security/sources.ts";
import type { Config } from "../../config.ts";
import { registerSecret } from "../../redact.ts";
import { DownloadError } from "../errors.ts";
import type { Credentials, ParsedUri, Source } from "../types.ts";
import { awsCredentialChain } from "./credentials/aws-chain.ts";
import { gcpTokenChain } from "./credentials/gcp-chain.ts";
import { hfToken } from "./credentials/hf-token.ts";
import { staticKeys } from "./credentials/types.ts";
import { urlGuard } from "./guard.ts";
import { createGcsSource } from "./gcs.ts";
import { createHfSource } from "./hf.ts";
import { createHttpSource } from "./http.ts";
import { createLocalSource } from "./local.ts";
import { createS3Source, type S3Options } from "./s3.ts";

export type SourceSettings = Pick<Config, "hf" | "aws" | "tos" | "gcs"> & {
  /** AIRUNTIME_ALLOWED_SOURCES and AIRUNTIME_MAX_DOWNLOAD_BYTES (absent = no restriction). */
  downloader?: Pick<Config["downloader"], "allowedSources" | "maxBytes">;
};

/** First non-empty value among the given keys of the map (keys compared case-insensitively). */
function pick(map: Credentials, ...keys: string[]): string | undefined {
  const lower = new Map(Object.entries(map).map(([k, v]) => [k.toLowerCase(), v]));
  for (const k of keys) {
    const v = lower.get(k.toLowerCase())?.trim();
    if (v) return v;
  }
  return undefined;
}

const withScheme = (e: string) => (/^https?:\/\//i.test(e) ? e : `https://${e}`);

/** An endpoint as a URL (scheme added when missing); a malformed one is a clear error. */
function endpointUrl(value: string, field: string): URL {
  try {
    const u = new URL(withScheme(value));
    if (u.username || u.password) throw new Error("credentials inside the URL");
    return u;
  } catch (e) {
    throw new DownloadError(
      "bad_uri",
      `${field} '${value}' is not a valid http(s) URL: ${(e as Error).message}`,
    );
  }
}

/** Same service: scheme, host, port and path (trailing slashes ignored). */
function sameEndpoint(a: URL, b: string | undefined): boolean {
  if (!b) return false;
  const o = new URL(withScheme(b));
  const path = (u: URL) => u.pathname.replace(/\/+$/, "");
  return a.protocol === o.protocol && a.host === o.host && path(a) === path(o);
}

/**
 * The endpoint to use: the environment's (trusted; `own` false), or the one the request names (`own` true:
 * checked against the allow-list here, and by the URL guard before every request).
 */
function chooseEndpoint(
  requested: string | undefined,
  fromEnv: string,
  field: string,
  allowed: readonly string[] | undefined,
): { url: URL; own: boolean } {
  if (requested === undefined) return { url: endpointUrl(fromEnv, field), own: false };
  const url = endpointUrl(requested, field);
  if (sameEndpoint(url, fromEnv)) return { url, own: false };
  if (!urlAllowed(url, allowed))
    throw new DownloadError(
      "forbidden",
      `${field} '${url.origin}' is not allowed by AIRUNTIME_ALLOWED_SOURCES (${allowed?.join(", ")}); an endpoint named by a request is a source of its own`,
    );
  return { url, own: true };
}

const REGION = /^[a-z0-9][a-z0-9-]{0,62}$/i;

/** The request's region (`key` or `region`), else `fallback`; it must be a plain region name. */
function regionOf(creds: Credentials, key: string, fallback: string): string {
  const region = pick(creds, key, "region") ?? fallback;
  if (!REGION.test(region))
    throw new DownloadError("bad_uri", `region '${region}' is not a region name (letters, digits and '-')`);
  return region;
}

/** Sent to a request-supplied endpoint that carries no keys of its own. */
function noEnvCredentials(raw: string, endpoint: URL, names: string): DownloadError {
  return new DownloadError(
    "credentials",
    `${raw}: the request names its own endpoint ${endpoint.origin}, which is never sent the environment's credentials; send ${names} with the request`,
  );
}

/** `anonymous` / `no_sign_request` in a request's credentials map or download_extra_config. */
function anonymousRequested(creds: Credentials): boolean {
  const v = pick(creds, "anonymous", "no_sign_request")?.toLowerCase();
  return v === "1" || v === "true" || v === "yes" || v === "on";
}

/** Virtual-hosted addressing for the big public clouds; path-style for custom endpoints (MinIO, s3rver). */
function addressingFor(endpoint: string, setting: "auto" | "path" | "virtual"): "path" | "virtual" {
  if (setting !== "auto") return setting;
  const host = new URL(endpoint).hostname;
  return /(amazonaws\.com|volces\.com|bytepluses\.com)$/.test(host) ? "virtual" : "path";
}

/** Where the endpoint of each scheme is configured, named when it cannot be reached. */
const ENDPOINT_SETTING: Record<string, string> = {
  hf: "HF_ENDPOINT (or the request's hf_endpoint)",
  s3: "AWS_ENDPOINT_URL (or the request's endpoint)",
  tos: "TOS_ENDPOINT (or the request's endpoint)",
  gcs: "GCS_ENDPOINT (or the request's endpoint)",
  http: "the download URI",
};

export function createSource(uri: ParsedUri, s: SourceSettings, creds: Credentials = {}): Source {
  const source = buildSource(uri, s, creds);
  const setting = ENDPOINT_SETTING[uri.scheme];
  return setting ? namingEndpoint(source, setting) : source;
}

/** An endpoint that refuses connections or does not resolve: the failure also names the setting to fix
 *  (unless it already names one, e.g. a proxy setting). */
function namingEndpoint(source: Source, setting: string): Source {
  const name = (e: unknown): never => {
    if (e instanceof DownloadError && e.reason === "unreachable" && !e.message.includes("; check "))
      (e as { message: string }).message += `; check ${setting}`;
    throw e;
  };
  return {
    ...source,
    async *list(uri, signal) {
      try {
        yield* source.list(uri, signal);
      } catch (e) {
        name(e);
      }
    },
    open: (uri, file, range, signal) => source.open(uri, file, range, signal).catch(name),
  };
}

function buildSource(uri: ParsedUri, s: SourceSettings, creds: Credentials): Source {
  const allowed = s.downloader?.allowedSources;
  // Checked before any connection, so a request cannot make the sidecar reach arbitrary internal URLs.
  if (!sourceAllowed(uri, allowed))
    throw new DownloadError(
      "forbidden",
      `source '${uri.raw}' is not allowed by AIRUNTIME_ALLOWED_SOURCES (${allowed?.join(", ")})`,
    );
  for (const v of Object.values(creds)) registerSecret(v);
  // A request-supplied endpoint gets the URL guard before every request; the environment's is trusted.
  const guardFor = (own: boolean) => (own ? urlGuard({ allowed }) : undefined);
  const endpointOf = (keys: string[], fromEnv: string) =>
    chooseEndpoint(pick(creds, ...keys), fromEnv, "endpoint", allowed);
  const s3At = (ep: { url: URL; own: boolean }, o: Omit<S3Options, "endpoint" | "guard">) =>
    createS3Source({ ...o, endpoint: ep.url.href, guard: guardFor(ep.own) });
  switch (uri.scheme) {
    case "hf": {
      const hub = chooseEndpoint(pick(creds, "hf_endpoint"), s.hf.endpoint, "hf_endpoint", allowed);
      const hubHost = hub.url.host;
      const defaultHub = /(^|\.)huggingface\.co$/i.test(hub.url.hostname);
      const requestToken = pick(creds, "huggingface_token", "hf_token");
      return createHfSource({
        endpoint: hub.url.href,
        // The environment's token (HF_TOKEN or the login token file) only for the environment's hub.
        token: requestToken
          ? hfToken(requestToken, undefined, true)
          : hub.own
            ? hfToken(undefined, undefined)
            : hfToken(s.hf.token, s.hf.tokenFile),
        revision: pick(creds, "hf_revision") ?? s.hf.revision,
        guard: urlGuard({
          allowed,
          trusted: (u) => !hub.own && u.host === hubHost,
          // An hf:// entry admits the hub: its own host, the subdomains of a hub from the environment, and
          // huggingface.co's CDN hosts for the public hub are where its files live. Any other hop needs an
          // http(s) entry.
          alsoAllowed: (u) =>
            u.host === hubHost ||
            (!hub.own && u.hostname.endsWith(`.${hub.url.hostname}`)) ||
            (defaultHub && /(^|\.)(huggingface\.co|hf\.co)$/i.test(u.hostname)),
        }),
      });
    }
    case "http":
      return createHttpSource({ guard: urlGuard({ allowed }) });
    case "local":
      return createLocalSource({ allowed });
    case "s3": {
      const region = regionOf(creds, "aws_region", s.aws.region ?? "us-east-1");
      const ep = endpointOf(
        ["aws_endpoint_url", "endpoint"],
        s.aws.endpointUrl ?? `https://s3.${region}.amazonaws.com`,
      );
      const fromMap = staticKeys(
        pick(creds, "aws_access_key_id", "ak"),
        pick(creds, "aws_secret_access_key", "sk"),
        pick(creds, "aws_session_token"),
        uri.raw,
        "aws_access_key_id / aws_secret_access_key",
        "the request's credentials",
      );
      const anonymous = !fromMap && (anonymousRequested(creds) || s.aws.anonymous);
      if (ep.own && !fromMap && !anonymous)
        throw noEnvCredentials(uri.raw, ep.url, "aws_access_key_id and aws_secret_access_key (or anonymous)");
      // Environment credentials (the chain) only for the environment's endpoint.
      const provider = anonymous ? null : (fromMap ?? awsCredentialChain(s.aws, region, uri.raw));
      return s3At(ep, {
        region,
        addressing: addressingFor(ep.url.href, s.aws.addressing),
        credentials: provider,
        label: "s3",
      });
    }
    case "tos": {
      const region = regionOf(creds, "tos_region", s.tos.region ?? "cn-beijing");
      // TOS speaks S3 at tos-s3-<region>.volces.com (AIBrix's v2 downloader needs the same).
      const ep = endpointOf(["tos_endpoint", "endpoint"], s.tos.endpoint ?? `tos-s3-${region}.volces.com`);
      const own = (v: string | undefined) => (ep.own ? undefined : v);
      const provider = staticKeys(
        pick(creds, "TOS_ACCESS_KEY", "ak") ?? own(s.tos.accessKey),
        pick(creds, "TOS_SECRET_KEY", "sk") ?? own(s.tos.secretKey),
        pick(creds, "TOS_SESSION_KEY") ?? own(s.tos.sessionKey),
        uri.raw,
        "TOS_ACCESS_KEY / TOS_SECRET_KEY",
        "TOS keys (request or TOS_ACCESS_KEY)",
      );
      if (!provider)
        throw ep.own
          ? noEnvCredentials(uri.raw, ep.url, "TOS_ACCESS_KEY and TOS_SECRET_KEY")
          : new DownloadError(
              "credentials",
              `${uri.raw}: no TOS credentials: set TOS_ACCESS_KEY and TOS_SECRET_KEY`,
            );
      return s3At(ep, {
        region,
        addressing: addressingFor(ep.url.href, s.aws.addressing),
        credentials: provider,
        label: "tos",
      });
    }
    case "gcs": {
      const ep = endpointOf(["gcs_endpoint", "endpoint"], s.gcs.endpoint ?? "https://storage.googleapis.com");
      const own = (v: string | undefined) => (ep.own ? undefined : v);
      const provider = staticKeys(
        pick(creds, "gcs_access_key_id", "ak") ?? own(s.gcs.accessKeyId),
        pick(creds, "gcs_secret_access_key", "sk") ?? own(s.gcs.secretAccessKey),
        undefined,
        uri.raw,
        "GCS_ACCESS_KEY_ID / GCS_SECRET_ACCESS_KEY",
        "GCS HMAC keys",
      );
      if (provider)
        return s3At(ep, {
          region: "auto",
          addressing: "path",
          credentials: provider,
          listVersion: 1,
          label: "gs",
        });
      // OAuth over the JSON API: the request's service account, the environment's (only for the
      // environment's endpoint), the metadata server; or unauthenticated for a public bucket.
      const serviceAccountJson = pick(creds, "gcp_service_account_json");
      const anonymous = !serviceAccountJson && (anonymousRequested(creds) || s.gcs.anonymous);
      return createGcsSource({
        endpoint: ep.url.href,
        token: anonymous
          ? null
          : gcpTokenChain(s.gcs, uri.raw, {
              serviceAccountJson,
              guard: urlGuard({ allowed }),
              envAllowed: !ep.own,
            }),
        guard: guardFor(ep.own),
      });
    }
  }
}
