// AWS web identity (IRSA): AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE exchanged at STS with
// AssumeRoleWithWebIdentity, refreshed before the temporary credentials expire. The token file is read
// again on every exchange (the kubelet rotates it).
import { registerSecret } from "../../../redact.ts";
import { DownloadError } from "../../errors.ts";
import { send, xmlValues } from "../http-util.ts";
import { TOKEN_EXCHANGE_TIMEOUT_MS } from "./endpoint-call.ts";
import {
  type CredentialProvider,
  parseExpiration,
  type RefreshOptions,
  readCredentialFile,
  refreshing,
  registered,
} from "./types.ts";

export interface WebIdentityOptions extends RefreshOptions {
  roleArn: string;
  tokenFile: string;
  stsEndpoint: string;
}

export function webIdentityCredentials(o: WebIdentityOptions): CredentialProvider {
  const now = o.now ?? Date.now;
  const source = `web identity (role ${o.roleArn} at STS ${o.stsEndpoint})`;
  return refreshing(async () => {
    const token = (
      await readCredentialFile(o.tokenFile, "AWS_WEB_IDENTITY_TOKEN_FILE", `${source}: `)
    ).trim();
    registerSecret(token);
    const q = new URLSearchParams({
      Action: "AssumeRoleWithWebIdentity",
      Version: "2011-06-15",
      RoleArn: o.roleArn,
      RoleSessionName: `airuntime-${now()}`,
      WebIdentityToken: token,
    });
    const what = `STS ${o.stsEndpoint}`;
    const res = await send(
      o.stsEndpoint,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/xml" },
        body: q.toString(),
        // A hung STS must not hang the download that waits for its credentials.
        signal: AbortSignal.timeout(TOKEN_EXCHANGE_TIMEOUT_MS),
      },
      what,
    );
    const xml = await res.text();
    if (!res.ok) {
      const msg = xmlValues(xml, "Message")[0] ?? `HTTP ${res.status}`;
      throw new DownloadError("auth", `web identity role ${o.roleArn} was refused by ${what}: ${msg}`);
    }
    const id = xmlValues(xml, "AccessKeyId")[0];
    const secret = xmlValues(xml, "SecretAccessKey")[0];
    const session = xmlValues(xml, "SessionToken")[0];
    if (!id || !secret) throw new DownloadError("auth", `${what} returned no credentials`);
    return registered({
      accessKeyId: id,
      secretAccessKey: secret,
      sessionToken: session,
      expiration: parseExpiration(xmlValues(xml, "Expiration")[0]) ?? now() + 15 * 60_000,
      source,
    });
  }, o);
}
