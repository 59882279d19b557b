// The AWS shared files: ~/.aws/credentials ([name] sections) and ~/.aws/config ([default] /
// [profile name] sections), or AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE, profile AWS_PROFILE (default
// "default"). Static keys (aws_access_key_id, aws_secret_access_key, aws_session_token) are read; the
// credentials file wins over the config file, key by key, as in the SDKs. Roles, SSO and credential_process
// profiles are not followed (a clear error says so).
import { readFile } from "node:fs/promises";
import { DownloadError } from "../../errors.ts";
import type { AwsCredentials } from "./types.ts";
import { registered } from "./types.ts";

export interface SharedFilesOptions {
  credentialsFile?: string;
  configFile?: string;
  profile: string;
  /** AWS_PROFILE was set: a missing profile is an error instead of "not configured". */
  profileExplicit: boolean;
}

/** INI sections -> key/value maps (comments with # or ;, keys lowercased). */
function parseIni(text: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (section) {
      current = out.get(section[1]!) ?? {};
      out.set(section[1]!, current);
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && current) current[kv[1]!.toLowerCase()] = kv[2]!;
  }
  return out;
}

async function readIni(path: string | undefined): Promise<Map<string, Record<string, string>>> {
  if (!path) return new Map();
  try {
    return parseIni(await readFile(path, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw new DownloadError("credentials", `cannot read AWS shared file ${path}: ${(e as Error).message}`);
  }
}

/** The profile's keys, or undefined when no file has that profile (and it was not asked for by name). */
export async function sharedFileCredentials(o: SharedFilesOptions): Promise<AwsCredentials | undefined> {
  const creds = await readIni(o.credentialsFile);
  const config = await readIni(o.configFile);
  const fromConfig =
    config.get(o.profile === "default" ? "default" : `profile ${o.profile}`) ??
    (o.profile === "default" ? config.get("profile default") : undefined);
  const fromCreds = creds.get(o.profile);
  const source = `shared files profile '${o.profile}' (${[o.credentialsFile, o.configFile].filter(Boolean).join(", ")})`;
  if (!fromCreds && !fromConfig) {
    if (o.profileExplicit)
      throw new DownloadError(
        "credentials",
        `AWS_PROFILE '${o.profile}' is not in ${source.slice(source.indexOf("("))}`,
      );
    return undefined;
  }
  const p = { ...fromConfig, ...fromCreds };
  const id = p.aws_access_key_id;
  const secret = p.aws_secret_access_key;
  if (!id || !secret) {
    const other = ["role_arn", "sso_session", "sso_start_url", "credential_process"].find((k) => p[k]);
    if (!other && !o.profileExplicit) return undefined;
    throw new DownloadError(
      "credentials",
      `${source} has no aws_access_key_id / aws_secret_access_key${other ? ` (${other} profiles are not supported; use web identity, EKS Pod Identity or keys)` : ""}`,
    );
  }
  return registered({ accessKeyId: id, secretAccessKey: secret, sessionToken: p.aws_session_token, source });
}
