// The GCE / GKE metadata server (GKE Workload Identity, a VM's service account): GET
// /computeMetadata/v1/instance/service-accounts/default/token with `Metadata-Flavor: Google` answers
// {access_token, expires_in}; the answer must carry the same header (anything else is not the metadata
// server). Refreshed before expiry. The host is GCE_METADATA_HOST (tests point it at loopback); this is the
// sidecar's own call to a configured address, not a download.
import { registerSecret } from "../../../redact.ts";
import { DownloadError } from "../../errors.ts";
import { send } from "../http-util.ts";
import { type RefreshOptions, refreshing, type TokenProvider } from "./types.ts";

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
    let res: Response;
    try {
      res = await send(
        `${base}/computeMetadata/v1/instance/service-accounts/default/token`,
        { headers: { "metadata-flavor": "Google" }, signal: AbortSignal.timeout(o.timeoutMs ?? 3000) },
        source,
      );
    } catch (e) {
      throw new DownloadError(
        "credentials",
        `${source}: ${(e as Error).message} (not on GKE/GCE: set GOOGLE_APPLICATION_CREDENTIALS, or AIRUNTIME_GCS_ANONYMOUS=1 for a public bucket)`,
        { cause: e },
      );
    }
    const text = await res.text();
    if (res.headers.get("metadata-flavor") !== "Google")
      throw new DownloadError("credentials", `${source}: the answer lacks Metadata-Flavor: Google`);
    if (!res.ok) throw new DownloadError("auth", `${source} refused the token request: HTTP ${res.status}`);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new DownloadError("auth", `${source} answered something other than JSON`);
    }
    if (typeof body.access_token !== "string")
      throw new DownloadError("auth", `${source} returned no access_token`);
    registerSecret(body.access_token);
    const ttl = Number(body.expires_in);
    return {
      token: body.access_token,
      expiration: now() + (Number.isFinite(ttl) && ttl > 0 ? ttl : 300) * 1000,
      source,
    };
  }, o);
}
