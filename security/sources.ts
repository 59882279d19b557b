// AIRUNTIME_ALLOWED_SOURCES: which download sources a request may name, checked before any connection, so
// the sidecar cannot be used to reach arbitrary internal URLs. A comma list of entries:
//   s3 | tos | gcs | hf | http | https | local      every URI of that scheme
//   s3://bucket   gcs://bucket   tos://bucket        one bucket
//   hf://org      hf://org/name                      an organization or one repository
//   https://host  https://*.example.com  http://host:port   one host (or a domain suffix)
//   /abs/prefix                                      local paths under that directory (compared once
//                                                    symlinks are resolved, see localPathAllowed)
// Unset = everything is allowed (AIBrix's behaviour), except link-local / metadata addresses (addresses.ts):
// those need an http(s) entry naming the host exactly (`http://169.254.169.254`), set or not.
import { resolve } from "node:path";
import type { ParsedUri } from "../storage/types.ts";
import { parseUri } from "../storage/uri.ts";
import { realpathOfExistingPrefix } from "../validate/names.ts";

export function sourceAllowed(uri: ParsedUri, allowed: readonly string[] | undefined): boolean {
  if (!allowed) return true;
  return allowed.some((entry) => matches(uri, entry.trim()));
}

/** An http(s) URL (a request-supplied endpoint, a redirect hop) checked as a source of its own. */
export function urlAllowed(url: URL, allowed: readonly string[] | undefined): boolean {
  return sourceAllowed({ scheme: "http", raw: url.href, bucket: url.host, path: url.pathname }, allowed);
}

/** True when an http(s) entry names exactly this URL's host (no wildcard, no bare scheme): the explicit
 *  permission a link-local / metadata address needs. */
export function hostNamedExplicitly(url: URL, allowed: readonly string[] | undefined): boolean {
  return (allowed ?? []).some((raw) => {
    const m = /^(https?):\/\/([^/]+)\/?$/i.exec(raw.trim());
    if (!m || `${m[1]!.toLowerCase()}:` !== url.protocol) return false;
    let entry: URL;
    try {
      entry = new URL(`${m[1]}://${m[2]}`);
    } catch {
      return false;
    }
    return entry.hostname === url.hostname && (entry.port === "" || entry.port === url.port);
  });
}

/**
 * A local path checked against the allow-list's `local` / `/prefix` entries once symlinks are resolved on
 * both sides (a symlink inside an allowed prefix that points outside it is refused). Missing path parts are
 * taken as written after the deepest existing directory.
 */
export async function localPathAllowed(
  path: string,
  allowed: readonly string[] | undefined,
): Promise<boolean> {
  if (!allowed) return true;
  const real = await realpathOfExistingPrefix(resolve(path));
  for (const raw of allowed) {
    const entry = raw.trim();
    if (/^(local|file)$/i.test(entry)) return true;
    if (!entry.startsWith("/")) continue;
    const prefix = await realpathOfExistingPrefix(resolve(entry));
    if (real === prefix || real.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`)) return true;
  }
  return false;
}

/**
 * A path handed to an engine as is (a direct `lora_path`, a lifecycle `artifact_url` without a scheme): an
 * absolute path is a local source (localPathAllowed); anything else is a Hugging Face repo id the engine
 * fetches itself, allowed as hf://<id> would be.
 */
export async function enginePathAllowed(p: string, allowed: readonly string[] | undefined): Promise<boolean> {
  if (!allowed) return true;
  if (p.startsWith("/")) return localPathAllowed(p, allowed);
  try {
    return sourceAllowed(parseUri(p), allowed);
  } catch {
    return false;
  }
}

function matches(uri: ParsedUri, entry: string): boolean {
  if (entry === "") return false;
  if (entry.startsWith("/")) {
    const prefix = entry.endsWith("/") ? entry : `${entry}/`;
    return uri.scheme === "local" && (uri.path === entry || uri.path.startsWith(prefix));
  }
  const m = /^([a-z0-9+.-]+)(?::\/\/(.*))?$/i.exec(entry);
  if (!m) return false;
  const scheme = normalizeScheme(m[1]!.toLowerCase());
  const rest = m[2];
  if (scheme === "http" || scheme === "https") {
    if (uri.scheme !== "http") return false;
    const url = new URL(uri.raw);
    if (url.protocol !== `${scheme}:`) return false;
    if (!rest) return true;
    const host = rest.replace(/\/.*$/, "").toLowerCase();
    const actual = url.port ? `${url.hostname}:${url.port}` : url.hostname;
    if (host.startsWith("*.")) return url.hostname.endsWith(host.slice(1));
    return (
      actual.toLowerCase() === host ||
      (!host.includes(":") && url.hostname.toLowerCase() === host && !url.port)
    );
  }
  if (scheme !== uri.scheme) return false;
  if (!rest) return true;
  const want = rest.replace(/\/+$/, "");
  const have = uri.bucket ?? "";
  return have === want || (scheme === "hf" && !want.includes("/") && have.startsWith(`${want}/`));
}

function normalizeScheme(s: string): string {
  if (s === "gs") return "gcs";
  if (s === "huggingface") return "hf";
  if (s === "file") return "local";
  return s;
}
