// The error table: every error code once, with its HTTP status and the error type AIBrix's bodies carry,
// one error class, and every renderer of an error body (problem+json for our routes; AIBrix's shapes on
// its routes: the engine ErrorResponse `{object,message,type,param,code}`, FastAPI's `{detail}`, the LoRA
// delegation `{error}`, the activate reply with status "error"). Retry classification reads the table too.
import { isAibrixPath } from "./lib/aibrix-paths.ts";
import { redactString } from "./redact.ts";

interface Row {
  status: number;
  /** The `type` of AIBrix's ErrorResponse body. */
  type: string;
  /** A retry can succeed (downloads: resets, stalls, 408/425/429/5xx). */
  retry?: true;
}

const row = (status: number, type: string, retry?: true): Row =>
  retry ? { status, type, retry } : { status, type };

export const ERRORS = {
  // Requests
  invalid_name: row(400, "ValidationError"),
  invalid_request: row(400, "BadRequestError"),
  invalid_argument: row(422, "InvalidArgumentError"),
  invalid_path: row(400, "ValidationError"),
  invalid_local_dir: row(400, "ValidationError"),
  path_escape: row(400, "ValidationError"),
  path_outside_roots: row(400, "ValidationError"),
  unsupported_scheme: row(400, "ValidationError"),
  credentials_not_found: row(400, "ValidationError"),
  json_too_deep: row(400, "BadRequestError"),
  json_string_too_long: row(400, "BadRequestError"),
  unauthorized: row(401, "AuthenticationError"),
  source_forbidden: row(403, "PermissionError"),
  not_found: row(404, "NotFoundError"),
  method_not_allowed: row(405, "MethodNotAllowedError"),
  payload_too_large: row(413, "PayloadTooLargeError"),
  request_timeout: row(504, "TimeoutError"),
  internal: row(500, "InternalError"),
  /** A local file-system failure (permissions, read-only volume, a file in the way): path, uid and fix. */
  local_io: row(500, "InternalError"),
  /** The engine (or this build) cannot do this. 501; AIBrix answers 409 on sleep/wake (see `unsupported`). */
  unsupported: row(501, "NotImplementedError"),
  // The engine
  engine_error: row(502, "BadGatewayError"),
  engine_unreachable: row(503, "ServiceUnavailableError"),
  engine_timeout: row(504, "TimeoutError"),
  /** The engine refused the request: its own 4xx status is passed on. */
  engine_rejected: row(400, "BadRequestError"),
  aborted: row(503, "ServiceUnavailableError"),
  // LoRA adapters
  lora_not_found: row(404, "NotFoundError"),
  lora_path_not_found: row(404, "NotFoundError"),
  artifact_not_found: row(404, "NotFoundError"),
  already_loaded: row(400, "ValidationError"),
  still_running: row(503, "ServiceUnavailableError"),
  // ModelClaim lifecycle
  model_not_active: row(404, "NotFoundError"),
  wrong_phase: row(409, "ConflictError"),
  invalid_activation: row(400, "ValidationError"),
  activation_failed: row(500, "InternalError"),
  kvctl_failed: row(500, "InternalError"),
  // Downloaded models (/v1/model/*)
  model_not_found: row(404, "ModelNotFoundError"),
  model_busy: row(409, "ConflictError"),
  // Downloads: `download_<reason>`, one per storage/errors.ts FailReason
  download_bad_uri: row(422, "InvalidArgumentError"),
  download_credentials: row(422, "InvalidArgumentError"),
  download_auth: row(403, "PermissionError"),
  download_not_found: row(404, "ModelNotFoundError"),
  download_no_space: row(507, "InsufficientStorageError"),
  download_verification: row(502, "BadGatewayError"),
  download_network: row(503, "ServiceUnavailableError", true),
  download_tls: row(502, "BadGatewayError"),
  download_unreachable: row(502, "BadGatewayError"),
  download_rejected: row(502, "BadGatewayError"),
  download_changed: row(409, "ConflictError"),
  download_busy: row(409, "ConflictError"),
  download_forbidden: row(403, "PermissionError"),
  download_too_large: row(413, "PayloadTooLargeError"),
  download_cancelled: row(499, "CancelledError"),
  download_local_io: row(500, "InternalError"),
  download_internal: row(500, "InternalError"),
} as const satisfies Record<string, Row>;

export type ErrorCode = keyof typeof ERRORS;
/** The download failure reasons, from the table's `download_*` rows. */
export type DownloadReason = ErrorCode extends infer C
  ? C extends `download_${infer R}`
    ? R
    : never
  : never;

/** How the body is shaped (default: AIBrix's ErrorResponse on its paths, problem+json elsewhere). */
export type ErrorForm =
  | "problem"
  | "openai"
  | "detail"
  | "error"
  /** ModelClaim activate: {status:"error", model_name, port:0, ipc_name:"", message}. */
  | { activate: string };

export interface AppErrorOptions {
  /** Only where a status is passed on from elsewhere (an engine's 4xx, a download's status, AIBrix 409). */
  status?: number;
  cause?: unknown;
  form?: ErrorForm;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly form?: ErrorForm;

  constructor(code: ErrorCode, message: string, opts: AppErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "AppError";
    this.code = code;
    this.status = opts.status ?? ERRORS[code].status;
    this.form = opts.form;
  }
}

/** The engine or this build cannot do `capability`. 501, except sleep and wake: AIBrix answers those 409. */
export const unsupported = (message: string, capability?: string, opts: AppErrorOptions = {}) =>
  new AppError("unsupported", message, {
    ...opts,
    status: capability === "sleep" || capability === "wake" ? 409 : undefined,
  });

/** The same error shaped another way (the status and cause kept). */
export const reshaped = (e: AppError, form: ErrorForm, message = e.message) =>
  new AppError(e.code, message, { status: e.status, cause: e, form });

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

// ---- retry classification -----------------------------------------------------------------------------

/** A status worth asking again: 408 Request Timeout, 425 Too Early, 429 Too Many Requests and every 5xx.
 *  Never 400, 401, 403, 404, 405, 410, 412, 416 nor any other 4xx: nothing changes by asking again. */
export const retryableStatus = (status: number) =>
  status === 408 || status === 425 || status === 429 || status >= 500;

/** Whether a retry can fix an error with this code (the table's `retry` column). */
export const retryableCode = (code: ErrorCode): boolean => (ERRORS[code] as Row).retry === true;

// ---- renderers --------------------------------------------------------------------------------------

/** The AIBrix error type: the table's, or where a status was passed on from elsewhere, that of the first
 *  row with this status. */
export function errorType(e: AppError): string {
  const r: Row = ERRORS[e.code];
  if (r.status === e.status) return r.type;
  const rows: Row[] = Object.values(ERRORS);
  return (
    rows.find((x) => x.status === e.status)?.type ?? (e.status >= 500 ? "ServerError" : "BadRequestError")
  );
}

export interface RenderedError {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/** The one place an error becomes a response body. Problem+json (RFC 9457) on our own routes. */
export function renderError(e: AppError, path: string): RenderedError {
  const form = e.form ?? (isAibrixPath(path) ? "openai" : "problem");
  const message = redactString(e.message);
  const { code, status } = e;
  const json = (body: Record<string, unknown>, headers = {}): RenderedError => ({ status, body, headers });
  if (form === "problem") {
    const title = code.replace(/_/g, " ");
    const body = { type: `urn:airuntime:error:${code}`, title, status, detail: message, instance: path };
    return json(body, { "content-type": "application/problem+json" });
  }
  if (form === "detail") return json({ detail: message });
  if (form === "error") return json({ error: message });
  if (form === "openai")
    return json({ object: "error", message, type: errorType(e), param: null, code: status });
  return json({ status: "error", model_name: form.activate, port: 0, ipc_name: "", message });
}
