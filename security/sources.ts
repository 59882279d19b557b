// AIRUNTIME_ALLOWED_SOURCES: which download sources a request may name, checked before any connection, so
// the sidecar cannot be used to reach arbitrary internal URLs. A comma list of entries:
//   s3 | tos | gcs | hf | http | https | local      every URI of that scheme
//   s3://bucket   gcs://bucket   tos://bucket        one bucket
//   hf://org      hf://org/name                      an organization or one repository
//   https://host  https://*.example.com  http://host:port   one host (or a domain suffix)
//   /abs/prefix                                      local paths under that directory
// Unset = everything is allowed (AIBrix's behaviour).
import type { ParsedUri } from "../storage/types.ts";

export function sourceAllowed(uri: ParsedUri, allowed: readonly string[] | undefined): boolean {
  if (!allowed) return true;
  return allowed.some((entry) => matches(uri, entry.trim()));
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
