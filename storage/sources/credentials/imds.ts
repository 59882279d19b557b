// EC2 instance metadata, IMDSv2 only: PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds) for a
// session token, then GET /latest/meta-data/iam/security-credentials/ for the role name and
// .../<role> for {AccessKeyId, SecretAccessKey, Token, Expiration}, both with X-aws-ec2-metadata-token.
// Refreshed before expiry. Never falls back to IMDSv1: when the token PUT gets no answer (an instance whose
// hop limit is 1 keeps the reply from reaching a container), it fails and says so. The endpoint is
// AWS_EC2_METADATA_SERVICE_ENDPOINT (tests point it at loopback); this is the sidecar's own call to a
// configured address, not a download, so the link-local rule for downloads does not apply to it.
import { registerSecret } from "../../../redact.ts";
import { DownloadError } from "../../errors.ts";
import { callEndpoint, jsonObject } from "./endpoint-call.ts";
import { awsJsonCredentials, type CredentialProvider, type RefreshOptions, refreshing } from "./types.ts";

export interface ImdsOptions extends RefreshOptions {
  endpoint: string;
  timeoutMs?: number;
  /** Session token lifetime asked for (seconds, default 21600 = 6 h, the maximum). */
  tokenTtlSeconds?: number;
}

export function imdsCredentials(o: ImdsOptions): CredentialProvider {
  const base = o.endpoint.replace(/\/+$/, "");
  const source = `instance metadata (IMDSv2 ${new URL(base).origin})`;
  const timeout = o.timeoutMs ?? 1000;

  async function call(path: string, init: RequestInit, step: string): Promise<string> {
    const { res, text } = await callEndpoint(`${base}${path}`, init, {
      source,
      timeoutMs: timeout,
      label: `${source}: ${step}`,
      hint:
        step === "token"
          ? " (no answer to the IMDSv2 token request: not on EC2, metadata disabled, or the instance's hop limit of 1 keeps the reply from reaching a container; raise it to 2 or use EKS Pod Identity / web identity)"
          : "",
    });
    if (!res.ok) throw new DownloadError("credentials", `${source}: ${step}: HTTP ${res.status}`);
    return text;
  }

  return refreshing(async () => {
    const token = (
      await call(
        "/latest/api/token",
        {
          method: "PUT",
          headers: { "x-aws-ec2-metadata-token-ttl-seconds": String(o.tokenTtlSeconds ?? 21600) },
        },
        "token",
      )
    ).trim();
    registerSecret(token);
    const headers = { "x-aws-ec2-metadata-token": token };
    const role = (await call("/latest/meta-data/iam/security-credentials/", { headers }, "role name"))
      .split("\n")[0]!
      .trim();
    if (!role) throw new DownloadError("credentials", `${source}: the instance has no IAM role`);
    const text = await call(
      `/latest/meta-data/iam/security-credentials/${encodeURIComponent(role)}`,
      { headers },
      `credentials of role ${role}`,
    );
    const body = jsonObject(text);
    if (body === undefined) throw new DownloadError("credentials", `${source}: role ${role}: not JSON`);
    const creds =
      body.Code === undefined || body.Code === "Success"
        ? awsJsonCredentials(body, `${source} role ${role}`)
        : undefined;
    if (!creds)
      throw new DownloadError("auth", `${source}: role ${role}: ${String(body.Code ?? "no credentials")}`);
    return creds;
  }, o);
}
