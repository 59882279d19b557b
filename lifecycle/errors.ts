// The lifecycle API's error bodies, as AIBrix sends them: FastAPI's `{"detail": "..."}` for sleep, wake,
// kv-limit; the activate response shape with status "error" for activate (rendered by errors.ts).
import { AppError, type ErrorCode, unsupported } from "../errors.ts";

export const detailError = (code: ErrorCode, message: string, status?: number): AppError =>
  new AppError(code, message, { status, form: "detail" });

/** `action` is unsupported by the engine kind: 409 for sleep/wake, as AIBrix answers. */
export const unsupportedAction = (action: string, kind: string): AppError =>
  unsupported(`${action} is unsupported for engine '${kind}'`, action, { form: "detail" });

export const activateError = (
  code: "invalid_activation" | "activation_failed",
  req: { model_name: string },
  message: string,
): AppError => new AppError(code, message, { form: { activate: req.model_name } });
