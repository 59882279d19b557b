// Credentials for a delegated adapter download, as the AIBrix controller sends them: the `credentials` map
// (its K8s Secret, keys such as aws_access_key_id, huggingface_token, TOS_ACCESS_KEY), or files under
// <credentials dir>/<credentials_secret>/ (one file per key; a single file becomes key "default"), then
// `additional_config` merged in. Every value is registered as a secret so no log line can show it.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { AppError } from "../errors.ts";
import { isSecretKey, registerSecret } from "../redact.ts";
import { childPath, shown } from "../validate/names.ts";

export interface CredentialInput {
  credentials?: Record<string, string> | null;
  credentials_secret?: string | null;
  additional_config?: Record<string, string> | null;
}

export async function resolveCredentials(
  req: CredentialInput,
  credentialsDir: string,
): Promise<Record<string, string>> {
  let creds: Record<string, string> = {};
  if (req.credentials && Object.keys(req.credentials).length > 0) creds = { ...req.credentials };
  else if (req.credentials_secret) creds = await readSecretDir(credentialsDir, req.credentials_secret);
  for (const v of Object.values(creds)) registerSecret(v);
  for (const [k, v] of Object.entries(req.additional_config ?? {})) if (isSecretKey(k)) registerSecret(v);
  return { ...creds, ...(req.additional_config ?? {}) };
}

async function readSecretDir(root: string, secret: string): Promise<Record<string, string>> {
  const dir = await childPath(root, secret, "credentials_secret");
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(dir);
  } catch {
    throw new AppError(
      "credentials_not_found",
      `credentials_secret '${shown(secret)}' not found under ${root}`,
    );
  }
  if (st.isFile()) return { default: (await readFile(dir, "utf8")).trim() };
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    // Kubernetes secret volumes hold ..data and ..<timestamp> links beside the key files.
    if (entry.name.startsWith(".")) continue;
    const p = join(dir, entry.name);
    const s = await stat(p).catch(() => null);
    if (!s?.isFile()) continue;
    out[entry.name] = (await readFile(p, "utf8")).trim();
  }
  return out;
}
