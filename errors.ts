// One error type for the whole program: a machine code, an HTTP status, a human message.
// Rendered in one place (app.ts onError). AIBrix-compatible routes attach the exact body AIBrix sends.

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  /** Extra fields for problem+json, or the full body for AIBrix-compatible routes (see `aibrixBody`). */
  readonly detail?: Record<string, unknown>;
  /** When set, this exact JSON body is sent (AIBrix-compatible routes keep AIBrix's error shapes). */
  readonly aibrixBody?: unknown;

  constructor(
    code: string,
    status: number,
    message: string,
    opts: { cause?: unknown; detail?: Record<string, unknown>; aibrixBody?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "AppError";
    this.code = code;
    this.status = status;
    this.detail = opts.detail;
    this.aibrixBody = opts.aibrixBody;
  }
}

export const notImplemented = (message: string) => new AppError("not_implemented", 501, message);
/** Problem+json (RFC 9457) body for routes that are ours, not AIBrix's. */
export function problemBody(err: AppError, instance?: string): Record<string, unknown> {
  return {
    type: `urn:airuntime:error:${err.code}`,
    title: err.code.replace(/_/g, " "),
    status: err.status,
    detail: err.message,
    ...(instance ? { instance } : {}),
    ...err.detail,
  };
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
