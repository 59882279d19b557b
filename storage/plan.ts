// Planning: list the source, apply filters, and check free space before any byte is fetched.
//   DOWNLOADER_ALLOW_FILE_SUFFIX keeps AIBrix's semantics: object stores match `path.endsWith(suffix)`,
//   Hugging Face matches `*.<suffix>` (so suffixes are given without the dot: "json, safetensors").
//   allow/ignore are picomatch globs; a pattern without "/" matches the file name in any directory, and a
//   trailing "/" means everything under that directory. .git/ and .cache/ are always skipped.
import { statfs } from "node:fs/promises";
import picomatch from "picomatch";
import { DownloadError } from "./errors.ts";
import type { ParsedUri, RemoteFile, Source } from "./types.ts";

export interface Filters {
  allowSuffix?: string[];
  allow?: string[];
  ignore?: string[];
}

function matcher(globs: string[] | undefined): ((p: string) => boolean) | null {
  if (!globs || globs.length === 0) return null;
  const ms = globs.map((g) => {
    const pat = g.endsWith("/") ? `${g}**` : g;
    return picomatch(pat, { dot: true, basename: !pat.includes("/") });
  });
  return (p) => ms.some((m) => m(p));
}

export function fileFilter(scheme: ParsedUri["scheme"], f: Filters): (path: string) => boolean {
  const allow = matcher(f.allow);
  const ignore = matcher(f.ignore);
  const suffixes = f.allowSuffix?.map((s) => s.trim()).filter(Boolean);
  return (path) => {
    if (/(^|\/)\.(git|cache)\//.test(path) || path.startsWith(".git/")) return false;
    if (suffixes && suffixes.length > 0) {
      const ok = suffixes.some((s) => (scheme === "hf" ? path.endsWith(`.${s}`) : path.endsWith(s)));
      if (!ok) return false;
    }
    if (allow && !allow(path)) return false;
    if (ignore?.(path)) return false;
    return true;
  };
}

/** Reject paths that would escape the model directory. */
export function safeRelPath(p: string): boolean {
  return p !== "" && !p.startsWith("/") && !p.split("/").some((s) => s === ".." || s === "." || s === "");
}

export async function listFiles(
  source: Source,
  uri: ParsedUri,
  filters: Filters,
  signal: AbortSignal,
): Promise<RemoteFile[]> {
  const keep = fileFilter(uri.scheme, filters);
  const files: RemoteFile[] = [];
  let seen = 0;
  for await (const f of source.list(uri, signal)) {
    seen++;
    if (!safeRelPath(f.path))
      throw new DownloadError("bad_uri", `the source lists an unsafe path '${f.path}'`);
    if (keep(f.path)) files.push(f);
  }
  if (files.length === 0)
    throw new DownloadError(
      "not_found",
      seen === 0
        ? `nothing to download at ${uri.raw}`
        : `no file at ${uri.raw} passes the filters (${seen} listed)`,
    );
  return files;
}

/**
 * Check that a source exists and answers before a download is accepted: list until the first file, within
 * `timeoutMs`. Throws `not_found` when nothing is listed, or whatever the source threw (auth, network with
 * retry words, tls). A source still answering at the deadline is "slow": the caller accepts the job, whose
 * own listing decides.
 */
export async function probeSource(
  source: Source,
  uri: ParsedUri,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<"listed" | "slow"> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const sig = signal ? AbortSignal.any([signal, deadline]) : deadline;
  try {
    for await (const _ of source.list(uri, sig)) return "listed";
  } catch (e) {
    if (deadline.aborted && !signal?.aborted) return "slow";
    throw e;
  }
  throw new DownloadError("not_found", `nothing to download at ${uri.raw}`);
}

/** Fail with `no_space` unless `needBytes` (plus a small margin) fit on the filesystem holding `dir`. */
export async function checkFreeSpace(dir: string, needBytes: number): Promise<void> {
  const s = await statfs(dir);
  const free = Number(s.bavail) * Number(s.bsize);
  const margin = Math.min(64 * 1024 * 1024, Math.ceil(needBytes * 0.01));
  if (free < needBytes + margin)
    throw new DownloadError(
      "no_space",
      `not enough disk space in ${dir}: need ${fmtBytes(needBytes + margin)}, ${fmtBytes(free)} free; nothing was downloaded`,
    );
}

export function fmtBytes(n: number): string {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}
