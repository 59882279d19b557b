// Where a gs:// download gets its OAuth token, in Application Default Credentials' order: the request's
// gcp_service_account_json (AIBrix's key), GOOGLE_APPLICATION_CREDENTIALS (a service-account file, read at
// first use), then the metadata server (GKE Workload Identity, GCE). HMAC keys are handled before this
// (the XML API); anonymous access skips it. Settings come from config.ts.
import type { Config } from "../../../config.ts";
import { DownloadError } from "../../errors.ts";
import type { UrlGuard } from "../guard.ts";
import { metadataServerToken } from "./gcp-metadata.ts";
import { DEFAULT_TOKEN_URI, parseServiceAccount, serviceAccountToken } from "./gcp-service-account.ts";
import { type RefreshOptions, readCredentialFile, type TokenProvider } from "./types.ts";

export function gcpTokenChain(
  s: Config["gcs"],
  what: string,
  request: { serviceAccountJson?: string; guard?: UrlGuard; envAllowed: boolean },
  refresh: RefreshOptions = {},
): TokenProvider {
  if (request.serviceAccountJson) {
    const where = "the request's gcp_service_account_json";
    const key = parseServiceAccount(request.serviceAccountJson, where);
    // A token_uri from a request is an endpoint the request chose: it passes the allow-list and the
    // link-local rule like any other (the default Google endpoint is trusted).
    const guard: UrlGuard = async (u, w) => {
      if (u.href !== DEFAULT_TOKEN_URI) await request.guard?.(u, w);
    };
    return serviceAccountToken({ key: async () => key, where, guard, ...refresh });
  }
  if (!request.envAllowed)
    throw new DownloadError(
      "credentials",
      `${what}: the request names its own endpoint, which is never sent the environment's Google credentials; send gcp_service_account_json (or HMAC keys) with the request, or anonymous`,
    );
  if (s.applicationCredentials) {
    const file = s.applicationCredentials;
    const where = `GOOGLE_APPLICATION_CREDENTIALS ${file}`;
    return serviceAccountToken({
      key: async () =>
        parseServiceAccount(await readCredentialFile(file, "GOOGLE_APPLICATION_CREDENTIALS"), where),
      where,
      tokenUri: s.tokenUri,
      ...refresh,
    });
  }
  if (s.metadataDisabled)
    throw new DownloadError(
      "credentials",
      `${what}: no GCS credentials: tried HMAC keys (GCS_ACCESS_KEY_ID, GCS_SECRET_ACCESS_KEY), GOOGLE_APPLICATION_CREDENTIALS; the metadata server is disabled (AIRUNTIME_GCE_METADATA_DISABLED). For a public bucket set AIRUNTIME_GCS_ANONYMOUS=1 or --no-sign-request`,
    );
  return metadataServerToken({ url: s.metadataUrl, ...refresh });
}
