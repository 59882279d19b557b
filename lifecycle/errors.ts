// The lifecycle API's error bodies, as AIBrix sends them: FastAPI's `{"detail": "..."}` for sleep, wake,
// kv-limit; the activate response shape with status "error" for activate.
import { AppError } from "../errors.ts";
import { redactString } from "../redact.ts";

export function detailError(status: number, message: string, code = "lifecycle_error"): AppError {
  const m = redactString(message);
  return new AppError(code, status, m, { aibrixBody: { detail: m } });
}

export function activateError(status: 400 | 500, req: { model_name: string }, message: string): AppError {
  const m = redactString(message);
  return new AppError(status === 400 ? "invalid_activation" : "activation_failed", status, m, {
    aibrixBody: { status: "error", model_name: req.model_name, port: 0, ipc_name: "", message: m },
  });
}
