// Picks and configures the source for a parsed URI. Credentials come, in order, from the request's
// credentials map (AIBrix's keys: aws_access_key_id, huggingface_token, TOS_ACCESS_KEY, ...), from the
// request's download_extra_config (ak, sk, endpoint, region, hf_token, ...), then from the environment.
import { sourceAllowed } from "../../security/sources.ts";
import type { Config } from "../../config.ts";
import { registerSecret } from "../../redact.ts";
import { DownloadError } from "../errors.ts";
import type { Credentials, ParsedUri, Source } from "../types.ts";
import { type CredentialProvider, staticCredentials, webIdentityCredentials } from "./credentials.ts";
import { createHfSource } from "./hf.ts";
import { createHttpSource } from "./http.ts";
import { createLocalSource } from "./local.ts";
import { createS3Source } from "./s3.ts";

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

const withScheme = (e: string) => (/^https?:\/\//.test(e) ? e : `https://${e}`);

/** Virtual-hosted addressing for the big public clouds; path-style for custom endpoints (MinIO, s3rver). */
function addressingFor(endpoint: string, setting: "auto" | "path" | "virtual"): "path" | "virtual" {
  if (setting !== "auto") return setting;
  const host = new URL(endpoint).hostname;
  return /(amazonaws\.com|volces\.com|bytepluses\.com)$/.test(host) ? "virtual" : "path";
}

function keysOrFail(
  id: string | undefined,
  secret: string | undefined,
  session: string | undefined,
  what: string,
  names: string,
): CredentialProvider | undefined {
  if (id && secret)
    return staticCredentials({ accessKeyId: id, secretAccessKey: secret, sessionToken: session });
  if (id || secret)
    throw new DownloadError("credentials", `${what}: only one of ${names} is set; both are needed`);
  return undefined;
}

export function createSource(uri: ParsedUri, s: SourceSettings, creds: Credentials = {}): Source {
  // Checked before any connection, so a request cannot make the sidecar reach arbitrary internal URLs.
  if (!sourceAllowed(uri, s.downloader?.allowedSources))
    throw new DownloadError(
      "forbidden",
      `source '${uri.raw}' is not allowed by AIRUNTIME_ALLOWED_SOURCES (${s.downloader?.allowedSources?.join(", ")})`,
    );
  for (const v of Object.values(creds)) registerSecret(v);
  switch (uri.scheme) {
    case "hf":
      return createHfSource({
        endpoint: pick(creds, "hf_endpoint") ?? s.hf.endpoint,
        token: pick(creds, "huggingface_token", "hf_token") ?? s.hf.token,
        revision: pick(creds, "hf_revision") ?? s.hf.revision,
      });
    case "http":
      return createHttpSource();
    case "local":
      return createLocalSource();
    case "s3": {
      const endpoint = pick(creds, "aws_endpoint_url", "endpoint") ?? s.aws.endpointUrl;
      const region = pick(creds, "aws_region", "region") ?? s.aws.region ?? "us-east-1";
      const fromMap = keysOrFail(
        pick(creds, "aws_access_key_id", "ak"),
        pick(creds, "aws_secret_access_key", "sk"),
        pick(creds, "aws_session_token"),
        uri.raw,
        "aws_access_key_id / aws_secret_access_key",
      );
      const provider =
        fromMap ??
        keysOrFail(
          s.aws.accessKeyId,
          s.aws.secretAccessKey,
          s.aws.sessionToken,
          uri.raw,
          "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
        ) ??
        (s.aws.roleArn && s.aws.webIdentityTokenFile
          ? webIdentityCredentials({
              roleArn: s.aws.roleArn,
              tokenFile: s.aws.webIdentityTokenFile,
              stsEndpoint: s.aws.stsEndpoint ?? `https://sts.${region}.amazonaws.com/`,
            })
          : undefined);
      if (!provider)
        throw new DownloadError(
          "credentials",
          `${uri.raw}: no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (web identity)`,
        );
      const ep = withScheme(endpoint ?? `https://s3.${region}.amazonaws.com`);
      return createS3Source({
        endpoint: ep,
        region,
        addressing: addressingFor(ep, s.aws.addressing),
        credentials: provider,
        label: "s3",
      });
    }
    case "tos": {
      const provider = keysOrFail(
        pick(creds, "TOS_ACCESS_KEY", "ak") ?? s.tos.accessKey,
        pick(creds, "TOS_SECRET_KEY", "sk") ?? s.tos.secretKey,
        pick(creds, "TOS_SESSION_KEY") ?? s.tos.sessionKey,
        uri.raw,
        "TOS_ACCESS_KEY / TOS_SECRET_KEY",
      );
      if (!provider)
        throw new DownloadError(
          "credentials",
          `${uri.raw}: no TOS credentials: set TOS_ACCESS_KEY and TOS_SECRET_KEY`,
        );
      const region = pick(creds, "tos_region", "region") ?? s.tos.region ?? "cn-beijing";
      // TOS speaks S3 at tos-s3-<region>.volces.com (AIBrix's v2 downloader needs the same).
      const ep = withScheme(
        pick(creds, "tos_endpoint", "endpoint") ?? s.tos.endpoint ?? `tos-s3-${region}.volces.com`,
      );
      return createS3Source({
        endpoint: ep,
        region,
        addressing: addressingFor(ep, s.aws.addressing),
        credentials: provider,
        label: "tos",
      });
    }
    case "gcs": {
      if (pick(creds, "gcp_service_account_json"))
        throw new DownloadError(
          "credentials",
          `${uri.raw}: service-account JSON is not supported; use GCS HMAC keys (gcs_access_key_id / gcs_secret_access_key or GCS_ACCESS_KEY_ID / GCS_SECRET_ACCESS_KEY)`,
        );
      const provider = keysOrFail(
        pick(creds, "gcs_access_key_id", "ak") ?? s.gcs.accessKeyId,
        pick(creds, "gcs_secret_access_key", "sk") ?? s.gcs.secretAccessKey,
        undefined,
        uri.raw,
        "GCS_ACCESS_KEY_ID / GCS_SECRET_ACCESS_KEY",
      );
      if (!provider)
        throw new DownloadError(
          "credentials",
          `${uri.raw}: no GCS HMAC keys: set GCS_ACCESS_KEY_ID and GCS_SECRET_ACCESS_KEY`,
        );
      const ep = withScheme(
        pick(creds, "gcs_endpoint", "endpoint") ?? s.gcs.endpoint ?? "https://storage.googleapis.com",
      );
      return createS3Source({
        endpoint: ep,
        region: "auto",
        addressing: "path",
        credentials: provider,
        listVersion: 1,
        label: "gs",
      });
    }
  }
}
