// Download failures as data: one reason per kind, each with an HTTP status, a CLI exit code and a
// metrics label. Sources throw these; the downloader decides what is retried.
import { AppError, type DownloadReason, retryableCode, retryableStatus } from "../errors.ts";
import { describeLocalIo, EXIT } from "../exit.ts";

/** One reason per kind of failure: the `download_<reason>` rows of the error table (errors.ts). */
export type FailReason = DownloadReason;

/** CLI exit codes, distinct per reason (0 ok, 1 fatal, 2 usage, 78 config: exit.ts). */
export const EXIT_CODES: Record<FailReason, number> = {
  bad_uri: 2,
  credentials: 3,
  auth: 4,
  not_found: 5,
  no_space: 6,
  verification: 7,
  network: 8,
  changed: 9,
  busy: 10,
  forbidden: 11,
  too_large: 12,
  tls: 13,
  unreachable: 14,
  rejected: 15,
  local_io: EXIT.localIo,
  cancelled: EXIT.interrupted,
  internal: EXIT.fatal,
};

/** Which failures a retry can fix (the error table's retry column): resets, stalls, timeouts,
 *  408/425/429/5xx ("network"). Never retried (nothing changes by asking again): a refused connection or
 *  unknown host ("unreachable", except once the same download has already received bytes, see transfer.ts),
 *  a refused certificate ("tls"), and the client errors 400/401/403/404/405/410/412/416 and other 4xx
 *  ("rejected", "auth", "not_found", "changed"). */
export const RETRYABLE = new Set<FailReason>(
  (Object.keys(EXIT_CODES) as FailReason[]).filter((r) => retryableCode(`download_${r}`)),
);

export class DownloadError extends AppError {
  readonly reason: FailReason;
  /** Seconds the server asked us to wait (429/503 Retry-After). */
  readonly retryAfterMs?: number;
  constructor(reason: FailReason, message: string, opts: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(`download_${reason}`, message, { cause: opts.cause });
    this.name = "DownloadError";
    this.reason = reason;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export const isDownloadError = (e: unknown): e is DownloadError => e instanceof DownloadError;

/** Map an HTTP failure status from any source to a reason. */
export function httpFailure(status: number, what: string, retryAfter?: string | null): DownloadError {
  const retryAfterMs = parseRetryAfter(retryAfter);
  if (status === 401 || status === 403)
    return new DownloadError("auth", `access denied (HTTP ${status}) for ${what}: check the credentials`);
  if (status === 404) return new DownloadError("not_found", `not found (HTTP 404): ${what}`);
  if (status === 412)
    return new DownloadError("changed", `the source object changed during download: ${what}`);
  if (status === 416) return new DownloadError("changed", `range not satisfiable (object shrank?): ${what}`);
  // 408 Request Timeout, 425 Too Early, 429 Too Many Requests and 5xx pass: asking again can succeed.
  if (status >= 400 && !retryableStatus(status))
    return new DownloadError("rejected", `the server rejected the request (HTTP ${status}): ${what}`);
  return new DownloadError("network", `HTTP ${status} from ${what}`, { retryAfterMs });
}

export function parseRetryAfter(v: string | null | undefined): number | undefined {
  if (!v) return undefined;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return Math.min(n * 1000, 60_000);
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, Math.min(t - Date.now(), 60_000)) : undefined;
}

/** A transport failure that asking again cannot fix: the endpoint refuses connections or its name does not
 *  resolve (EAI_AGAIN, a temporary DNS failure, stays retryable). `setting` names where the endpoint came
 *  from (HF_ENDPOINT, AWS_ENDPOINT_URL, HTTPS_PROXY, ...). Null for anything else. */
export function unreachable(e: unknown, endpoint: string, setting: string): DownloadError | null {
  const code = (e as { code?: string } | null)?.code;
  const why =
    code === "ECONNREFUSED"
      ? "connection refused"
      : code === "ENOTFOUND"
        ? "the host name does not resolve"
        : code === "EHOSTUNREACH" || code === "ENETUNREACH"
          ? "no route to the host"
          : null;
  if (!why) return null;
  const hint = setting ? `; check ${setting}` : "";
  return new DownloadError("unreachable", `cannot connect to ${endpoint} (${why})${hint}`, { cause: e });
}

/** Any error as a DownloadError: local file-system failures get their own reason (the path, the user and
 *  the fix in the message), a full disk is no_space; anything else unexpected is internal. */
export function asDownloadError(e: unknown): DownloadError {
  if (e instanceof DownloadError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    const path = (e as { path?: unknown }).path;
    return new DownloadError(
      "no_space",
      `no space left on the device${typeof path === "string" ? ` writing ${path}` : ""}`,
      { cause: e },
    );
  }
  const local = describeLocalIo(e);
  if (local) return new DownloadError("local_io", local.message, { cause: e });
  return new DownloadError("internal", e instanceof Error ? e.message : String(e), { cause: e });
}

/** The abort reason of downloads stopped because this process shuts down (their status: interrupted). */
export class Shutdown extends Error {
  constructor(message = "interrupted by a shutdown of the sidecar") {
    super(message);
    this.name = "Shutdown";
  }
}
