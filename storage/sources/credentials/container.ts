// Container credentials: EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI with the token from
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) and ECS task roles (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI at
// the fixed host 169.254.170.2). A GET with the token as Authorization answers
// {AccessKeyId, SecretAccessKey, Token, Expiration}; refreshed before expiry, the token file read again each
// time (the agent rotates it). Like the AWS SDKs, a full URI must be HTTPS or one of the container agents'
// own addresses (loopback, 169.254.170.2, 169.254.170.23, fd00:ec2::23). This is the sidecar's own call to a
// configured endpoint, not a download: the link-local rule for downloads does not apply to it.
import { registerSecret } from "../../../redact.ts";
import { isLoopback } from "../../../security/addresses.ts";
import { DownloadError } from "../../errors.ts";
import { callEndpoint, jsonObject } from "./endpoint-call.ts";
import {
  awsJsonCredentials,
  type CredentialProvider,
  type RefreshOptions,
  readCredentialFile,
  refreshing,
} from "./types.ts";

export interface ContainerOptions extends RefreshOptions {
  fullUri?: string;
  relativeUri?: string;
  /** Where a relative URI is resolved: http://169.254.170.2 (overridable for tests). */
  relativeHost: string;
  tokenFile?: string;
  token?: string;
  timeoutMs?: number;
}

const AGENT_HOSTS = new Set(["169.254.170.2", "169.254.170.23", "[fd00:ec2::23]"]);

/** The endpoint to call, or a `credentials` error saying why the configured one is refused. */
function containerEndpoint(o: ContainerOptions): URL {
  if (o.fullUri) {
    let u: URL;
    try {
      u = new URL(o.fullUri);
    } catch {
      throw new DownloadError("credentials", `AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL`);
    }
    if (u.protocol === "https:") return u;
    if (u.protocol === "http:" && (isLoopback(u.hostname) || AGENT_HOSTS.has(u.hostname))) return u;
    throw new DownloadError(
      "credentials",
      `AWS_CONTAINER_CREDENTIALS_FULL_URI ${u.origin} is refused: it must be https, loopback, or a container credentials agent address (169.254.170.2, 169.254.170.23, fd00:ec2::23)`,
    );
  }
  return new URL(o.relativeUri ?? "/", o.relativeHost);
}

export function containerCredentials(o: ContainerOptions): CredentialProvider {
  const url = containerEndpoint(o);
  const source = `${o.fullUri ? "EKS Pod Identity / container credentials" : "ECS container credentials"} ${url.origin}`;
  return refreshing(async () => {
    const headers: Record<string, string> = { accept: "application/json" };
    let token = o.token;
    if (o.tokenFile) {
      token = (
        await readCredentialFile(o.tokenFile, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", `${source}: `)
      ).trim();
    }
    if (token) {
      registerSecret(token);
      headers.authorization = token;
    }
    const { res, text } = await callEndpoint(url, { headers }, { source, timeoutMs: o.timeoutMs ?? 5000 });
    if (!res.ok) throw new DownloadError("auth", `${source} refused the request: HTTP ${res.status}`);
    const body = jsonObject(text);
    if (body === undefined) throw new DownloadError("auth", `${source} answered something other than JSON`);
    const creds = awsJsonCredentials(body, source);
    if (!creds) throw new DownloadError("auth", `${source} returned no credentials`);
    return creds;
  }, o);
}
