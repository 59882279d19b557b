// Download failures as data: one reason per kind, each with an HTTP status, a CLI exit code and a
// metrics label. Sources throw these; the engine decides what is retried.
import { AppError } from "../errors.ts";

export type FailReason =
  | "bad_uri"
  | "credentials"
  | "auth"
  | "not_found"
  | "no_space"
  | "verification"
  | "network"
  | "tls"
  | "changed"
  | "busy"
  | "forbidden"
  | "too_large"
  | "cancelled"
  | "internal";

/** CLI exit codes, distinct per reason (0 ok, 2 usage, 78 config are main.ts's). */
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
  cancelled: 130,
  internal: 1,
};

const STATUS: Record<FailReason, number> = {
  bad_uri: 422,
  credentials: 422,
  auth: 403,
  not_found: 404,
  no_space: 507,
  verification: 502,
  network: 503,
  changed: 409,
  busy: 409,
  forbidden: 403,
  too_large: 413,
  tls: 502,
  cancelled: 499,
  internal: 500,
};

/** Which failures a part retry can fix. */
export const RETRYABLE = new Set<FailReason>(["network"]);

export class DownloadError extends AppError {
  readonly reason: FailReason;
  /** Seconds the server asked us to wait (429/503 Retry-After). */
  readonly retryAfterMs?: number;
  constructor(reason: FailReason, message: string, opts: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(`download_${reason}`, STATUS[reason], message, { cause: opts.cause });
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
  return new DownloadError("network", `HTTP ${status} from ${what}`, { retryAfterMs });
}

export function parseRetryAfter(v: string | null | undefined): number | undefined {
  if (!v) return undefined;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return Math.min(n * 1000, 60_000);
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, Math.min(t - Date.now(), 60_000)) : undefined;
}
