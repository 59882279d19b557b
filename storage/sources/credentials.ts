// S3-style credentials: static keys, or web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE) exchanged
// at STS with AssumeRoleWithWebIdentity and refreshed before they expire.
import { readFile } from "node:fs/promises";
import { registerSecret } from "../../redact.ts";
import { DownloadError } from "../errors.ts";
import { send, xmlValues } from "./http-util.ts";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type CredentialProvider = () => Promise<AwsCredentials>;

export function staticCredentials(c: AwsCredentials): CredentialProvider {
  registerSecret(c.secretAccessKey);
  registerSecret(c.sessionToken);
  return async () => c;
}

export interface WebIdentityOptions {
  roleArn: string;
  tokenFile: string;
  stsEndpoint: string;
  /** Refresh this long before Expiration (default 5 minutes). */
  refreshBeforeMs?: number;
  now?: () => number;
}

/** AssumeRoleWithWebIdentity, cached until shortly before expiry; concurrent callers share one refresh. */
export function webIdentityCredentials(o: WebIdentityOptions): CredentialProvider {
  let cached: { creds: AwsCredentials; expires: number } | undefined;
  let inflight: Promise<AwsCredentials> | undefined;
  const now = o.now ?? Date.now;
  const margin = o.refreshBeforeMs ?? 5 * 60_000;

  async function assume(): Promise<AwsCredentials> {
    let token: string;
    try {
      token = (await readFile(o.tokenFile, "utf8")).trim();
    } catch (e) {
      throw new DownloadError(
        "credentials",
        `cannot read AWS_WEB_IDENTITY_TOKEN_FILE ${o.tokenFile}: ${(e as Error).message}`,
      );
    }
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
    const exp = Date.parse(xmlValues(xml, "Expiration")[0] ?? "");
    if (!id || !secret) throw new DownloadError("auth", `${what} returned no credentials`);
    registerSecret(secret);
    registerSecret(session);
    const creds = { accessKeyId: id, secretAccessKey: secret, sessionToken: session };
    cached = { creds, expires: Number.isFinite(exp) ? exp : now() + 15 * 60_000 };
    return creds;
  }

  return async () => {
    if (cached && cached.expires - margin > now()) return cached.creds;
    inflight ??= assume().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
}
