// The GCE / GKE metadata server (GKE Workload Identity, a VM's service account): GET
// /computeMetadata/v1/instance/service-accounts/default/token with `Metadata-Flavor: Google` answers
// {access_token, expires_in}; the answer must carry the same header (anything else is not the metadata
// server). Refreshed before expiry. The host is GCE_METADATA_HOST (tests point it at loopback); this is the
// sidecar's own call to a configured address, not a download.
import { DownloadError } from "../../errors.ts";
import { callEndpoint, jsonObject } from "./endpoint-call.ts";
import { oauthToken, type RefreshOptions, refreshing, type TokenProvider } from "./types.ts";

export interface MetadataOptions extends RefreshOptions {
  /** http://<GCE_METADATA_HOST>, default http://169.254.169.254. */
  url: string;
  timeoutMs?: number;
}

export function metadataServerToken(o: MetadataOptions): TokenProvider {
  const base = o.url.replace(/\/+$/, "");
  const source = `GCE metadata server ${new URL(base).origin} (Workload Identity)`;
  const now = o.now ?? Date.now;
  return refreshing(async () => {
    const { res, text } = await callEndpoint(
      `${base}/computeMetadata/v1/instance/service-accounts/default/token`,
      { headers: { "metadata-flavor": "Google" } },
      {
        source,
        timeoutMs: o.timeoutMs ?? 3000,
        hint: " (not on GKE/GCE: set GOOGLE_APPLICATION_CREDENTIALS, or AIRUNTIME_GCS_ANONYMOUS=1 for a public bucket)",
      },
    );
    if (res.headers.get("metadata-flavor") !== "Google")
      throw new DownloadError("credentials", `${source}: the answer lacks Metadata-Flavor: Google`);
    if (!res.ok) throw new DownloadError("auth", `${source} refused the token request: HTTP ${res.status}`);
    const body = jsonObject(text);
    if (body === undefined) throw new DownloadError("auth", `${source} answered something other than JSON`);
    return oauthToken(body, source, now(), 300);
  }, o);
}
