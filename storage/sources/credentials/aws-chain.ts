// The AWS credential chain, in the SDKs' order: environment keys, web identity (IRSA), container
// credentials (EKS Pod Identity / ECS), the shared files (AWS_PROFILE), instance metadata (IMDSv2). The
// first source that is configured is used for the life of the source; its failures name it. Settings come
// from config.ts (nothing here reads the environment).
import type { Config } from "../../../config.ts";
import { DownloadError } from "../../errors.ts";
import { containerCredentials } from "./container.ts";
import { imdsCredentials } from "./imds.ts";
import { sharedFileCredentials } from "./shared-files.ts";
import { type CredentialProvider, type RefreshOptions, staticKeys } from "./types.ts";
import { webIdentityCredentials } from "./web-identity.ts";

export type AwsChainSettings = Omit<Config["aws"], "endpointUrl" | "addressing" | "anonymous">;

export function awsCredentialChain(
  s: AwsChainSettings,
  region: string,
  what: string,
  refresh: RefreshOptions = {},
): CredentialProvider {
  const fromEnv = staticKeys(
    s.accessKeyId,
    s.secretAccessKey,
    s.sessionToken,
    what,
    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
    "environment (AWS_ACCESS_KEY_ID)",
  );
  if (fromEnv) return fromEnv;
  if (s.roleArn && s.webIdentityTokenFile)
    return webIdentityCredentials({
      roleArn: s.roleArn,
      tokenFile: s.webIdentityTokenFile,
      stsEndpoint: s.stsEndpoint ?? `https://sts.${region}.amazonaws.com/`,
      ...refresh,
    });
  if (s.containerFullUri || s.containerRelativeUri)
    return containerCredentials({
      fullUri: s.containerFullUri,
      relativeUri: s.containerRelativeUri,
      relativeHost: s.containerHost,
      tokenFile: s.containerTokenFile,
      token: s.containerToken,
      ...refresh,
    });
  const tried = `tried the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE), container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI), shared files profile '${s.profile}'`;
  // The shared files and IMDS need I/O to know whether they apply: decided on first use, then kept.
  let chosen: Promise<CredentialProvider> | undefined;
  const choose = async (): Promise<CredentialProvider> => {
    const shared = await sharedFileCredentials({
      credentialsFile: s.sharedCredentialsFile,
      configFile: s.configFile,
      profile: s.profile,
      profileExplicit: s.profileExplicit,
    });
    if (shared) return async () => shared;
    if (s.imdsDisabled)
      throw new DownloadError(
        "credentials",
        `${what}: no AWS credentials: ${tried}; instance metadata is disabled (AWS_EC2_METADATA_DISABLED). For a public bucket set AIRUNTIME_S3_ANONYMOUS=1 or --no-sign-request`,
      );
    return imdsCredentials({ endpoint: s.imdsEndpoint, ...refresh });
  };
  return async () => {
    chosen ??= choose().catch((e) => {
      chosen = undefined;
      throw e;
    });
    const p = await chosen;
    try {
      return await p();
    } catch (e) {
      if (e instanceof DownloadError && e.reason === "credentials" && !s.profileExplicit)
        (e as { message: string }).message = `${what}: no AWS credentials: ${tried}, then ${e.message}`;
      throw e;
    }
  };
}
