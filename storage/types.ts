// Storage layer contracts (DESIGN.md). Sources only list and open byte ranges; storage/download.ts owns
// concurrency, ranges, resume, verification, locking and atomic publish.

export interface ParsedUri {
  scheme: "hf" | "s3" | "tos" | "gcs" | "http" | "local";
  /** The URI as given (for messages and metadata; never contains credentials). */
  raw: string;
  /** Bucket (s3/tos/gcs) or repo id "org/name" (hf); host for http. */
  bucket?: string;
  /** Key prefix (object stores), file path (http/local). */
  path: string;
  /** HF revision (branch, tag or commit) when given as @rev. */
  revision?: string;
}

export interface RemoteFile {
  /** Path relative to the model/adapter root, always with forward slashes, never absolute, never "..". */
  path: string;
  size: number;
  etag?: string;
  sha256?: string;
  /** Git blob SHA-1 (HF small files). */
  gitSha1?: string;
  /** Plain MD5 (S3 single-part ETag). */
  md5?: string;
  /** Source-specific locator (full object key, URL) when `path` alone does not name the object. */
  key?: string;
  /** False when the server cannot serve byte ranges (then the file is one part, restarted on retry). */
  acceptRanges?: boolean;
}

export interface Source {
  list(uri: ParsedUri, signal: AbortSignal): AsyncIterable<RemoteFile>;
  open(
    uri: ParsedUri,
    file: RemoteFile,
    range: { start: number; end: number } | null,
    signal: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>>;
  /** Obtain the credentials the source signs with (a credential chain, a token exchange) before anything is
   *  written, so a missing or refused credential fails the way a missing key does. */
  authenticate?(signal: AbortSignal): Promise<void>;
  /** The commit a revision (branch, tag) points at now: one call, no listing (HF). */
  resolveRevision?(uri: ParsedUri, signal: AbortSignal): Promise<string>;
  /** The immutable revision the listing was pinned to (HF commit), once list() has run. */
  pinnedRevision?(uri: ParsedUri): string | undefined;
}

/** Credentials as the AIBrix controller sends them (K8s Secret keys + additional_config), or from env. */
export type Credentials = Record<string, string>;

export interface DownloadProgress {
  phase: "planning" | "downloading" | "verifying" | "publishing" | "done" | "failed";
  files_done: number;
  files_total: number;
  bytes_done: number;
  bytes_total: number;
  /** Bytes per second over a recent window. */
  rate: number;
  /** Seconds remaining, null when unknown. */
  eta: number | null;
}

export interface FetchToDirRequest {
  uri: string;
  /** Final directory; published atomically (it exists only when complete and verified). */
  dest: string;
  credentials?: Credentials;
  signal: AbortSignal;
  /** Local sources only: "copy" (default) into dest, or "in-place" to use the source directory as is. */
  local?: "copy" | "in-place";
}

export interface FetchToDirResult {
  /** Directory the consumer should use (dest, or a snapshot dir inside it for the hf-cache layout). */
  path: string;
  files: number;
  bytes: number;
}

/** What the LoRA manager and lifecycle use: bring a whole artifact into `dest`, verified and atomic. */
export type FetchToDir = (req: FetchToDirRequest) => Promise<FetchToDirResult>;
