// Model/adapter URIs: what AIBrix accepts (s3://, tos://, bare org/name) plus hf://, huggingface://,
// gs://, gcs://, http(s):// and local paths. Anything else is a clear error, never a guess.
import { posix } from "node:path";
import { DownloadError } from "./errors.ts";
import type { ParsedUri } from "./types.ts";

const REPO_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
// S3/TOS/GCS bucket names; GCS also allows dots and underscores.
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$/;
const SCHEMES =
  "s3://, tos://, gs://, gcs://, hf://, huggingface://, http(s)://, file://, an absolute path or org/name";

const bad = (raw: string, why: string) =>
  new DownloadError("bad_uri", `invalid model URI '${raw}': ${why} (expected ${SCHEMES})`);

export function parseUri(input: string): ParsedUri {
  const raw = (input ?? "").trim();
  if (raw === "") throw bad(raw, "it is empty");
  if (/[\u0000-\u001f]/.test(raw))
    throw bad(raw.replace(/[\u0000-\u001f]/g, "?"), "it contains control characters");
  if (raw.startsWith("/")) return local(raw, raw);
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(raw);
  if (!m) {
    if (raw.includes(":")) throw bad(raw, "unknown scheme");
    return hfRepo(raw, raw);
  }
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  switch (scheme) {
    case "s3":
    case "tos":
      return objectStore(raw, scheme, rest);
    case "gs":
    case "gcs":
      return objectStore(raw, "gcs", rest);
    case "hf":
    case "huggingface":
      return hfRepo(raw, rest);
    case "http":
    case "https":
      return http(raw);
    case "file":
      if (!rest.startsWith("/")) throw bad(raw, "file:// needs an absolute path (file:///data/model)");
      return local(raw, decodeURIComponent(rest));
    default:
      throw bad(raw, `unsupported scheme '${scheme}://'`);
  }
}

function objectStore(raw: string, scheme: "s3" | "tos" | "gcs", rest: string): ParsedUri {
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? "" : rest.slice(slash + 1);
  if (bucket === "") throw bad(raw, "the bucket name is missing");
  if (!BUCKET.test(bucket)) throw bad(raw, `'${bucket}' is not a valid bucket name`);
  if (path.split("/").some((seg) => seg === ".." || seg === "."))
    throw bad(raw, "'.' and '..' are not allowed");
  return { scheme, raw, bucket, path };
}

function hfRepo(raw: string, rest: string): ParsedUri {
  let repo = rest.replace(/\/+$/, "");
  let revision: string | undefined;
  const at = repo.indexOf("@");
  if (at >= 0) {
    revision = repo.slice(at + 1);
    repo = repo.slice(0, at);
    if (revision === "" || /[\s\\]|\.\./.test(revision))
      throw bad(raw, "the revision after '@' is empty or invalid");
  }
  const parts = repo.split("/");
  if (parts.length !== 2 || !parts.every((p) => REPO_PART.test(p) && !p.includes("..")))
    throw bad(raw, "a Hugging Face repo id must be exactly org/name");
  return { scheme: "hf", raw, bucket: repo, path: "", revision };
}

function http(raw: string): ParsedUri {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw bad(raw, "not a valid URL");
  }
  if (u.username || u.password)
    throw bad(u.origin + u.pathname, "credentials inside the URL are not accepted");
  if (u.pathname === "/" || u.pathname === "") throw bad(raw, "the URL names no file");
  return { scheme: "http", raw, bucket: u.host, path: decodeURIComponent(u.pathname) };
}

function local(raw: string, p: string): ParsedUri {
  if (p.split("/").includes("..")) throw bad(raw, "'..' is not allowed in a local path");
  return { scheme: "local", raw, path: posix.normalize(p).replace(/(.)\/+$/, "$1") };
}

/**
 * AIBrix refuses a bucket with no path (422 `bucket_path` is not configured); so do we, unless the caller
 * asks for the whole bucket explicitly.
 */
export function refuseBucketRoot(u: ParsedUri, allow: boolean | undefined): void {
  if (allow || !(u.scheme === "s3" || u.scheme === "tos" || u.scheme === "gcs")) return;
  if (u.path.replace(/\/+/g, "") !== "") return;
  throw new DownloadError(
    "bad_uri",
    `Argument \`bucket_path\` is not configured please check --model-uri: '${u.raw}' names a whole bucket; give a path (s3://bucket/model/) or set allow_bucket_root`,
  );
}

/** AIBrix's model name inference: HF repo id as is; otherwise the last path segment. */
export function inferModelName(u: ParsedUri): string {
  if (u.scheme === "hf") return u.bucket!;
  const segs = u.path.split("/").filter(Boolean);
  const last = segs[segs.length - 1] ?? u.bucket ?? "";
  return u.scheme === "http" ? last.replace(/\.[^.]+$/, "") || last : last;
}

/** The `source` AIBrix reports and the `.cache/<source>/download` directory name (B12: HF is huggingface). */
export function sourceName(u: ParsedUri): string {
  return { hf: "huggingface", s3: "s3", tos: "tos", gcs: "gcs", http: "http", local: "local" }[u.scheme];
}
