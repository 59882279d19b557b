// Calls to the engine: a deadline on every call and errors mapped to what the AIBrix controller can act on.
// Transient failures carry its retry words ("connection refused", "service unavailable", "timeout",
// "bad gateway"); engine 4xx keep the engine's own reason.
import { AppError } from "../errors.ts";
import { readTextCapped } from "../lib/capped-body.ts";
import { traced } from "../lib/trace.ts";

/** Largest engine reply read (model lists, LoRA and sleep answers, error bodies are far smaller). */
export const ENGINE_REPLY_MAX_BYTES = 4 * 1024 * 1024;

export interface EngineCall {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal: AbortSignal;
  timeoutMs: number;
}

export interface EngineReply {
  status: number;
  text: string;
  json: unknown;
  contentType: string;
}

/** Raw call: never throws for HTTP statuses; throws AppError 503/504 for transport failures. */
export async function engineRequest(url: string, call: EngineCall): Promise<EngineReply> {
  const timeout = AbortSignal.timeout(call.timeoutMs);
  const signal = AbortSignal.any([call.signal, timeout]);
  const headers: Record<string, string> = { ...call.headers };
  let body: string | undefined;
  if (call.body !== undefined) {
    body = JSON.stringify(call.body);
    headers["content-type"] = "application/json";
  }
  let res: Response;
  try {
    // Never follow an engine's redirect: the caller's Authorization would go along to wherever it points.
    const method = call.method ?? (body ? "POST" : "GET");
    res = await traced("engine", method, url, () =>
      fetch(url, { method, headers, body, signal, redirect: "manual" }),
    );
  } catch (e) {
    throw transportError(url, e, timedOut(signal));
  }
  let text: string;
  let over: boolean;
  try {
    ({ text, over } = await readTextCapped(res, ENGINE_REPLY_MAX_BYTES));
  } catch (e) {
    throw transportError(url, e, timedOut(signal));
  }
  // An error body over the cap is cut (its start is the reason); a success body cut short would be wrong.
  if (over && res.status < 400)
    throw new AppError(
      "engine_error",
      `engine at ${new URL(url).origin} answered more than ${ENGINE_REPLY_MAX_BYTES} bytes (bad gateway)`,
    );
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, contentType: res.headers.get("content-type") ?? "" };
}

/** Aborted by a deadline (ours or the caller's AbortSignal.timeout), not by a cancel. */
function timedOut(signal: AbortSignal): boolean {
  const r = signal.reason as { name?: string } | undefined;
  return signal.aborted && r?.name === "TimeoutError";
}

export function transportError(url: string, e: unknown, timedOut: boolean): AppError {
  const where = new URL(url).origin;
  if (timedOut)
    return new AppError("engine_timeout", `engine at ${where} timeout: no answer in time`, { cause: e });
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof Error && e.name === "AbortError")
    return new AppError("aborted", `request aborted: service unavailable`, { cause: e });
  return new AppError(
    "engine_unreachable",
    `engine at ${where} is unreachable: connection refused / service unavailable (${msg})`,
    { cause: e },
  );
}

/** Turn a non-2xx engine reply into an AppError: 5xx transient, 4xx with the engine's reason. */
export function engineStatusError(reply: EngineReply, what: string): AppError {
  const reason = engineReason(reply);
  if (reply.status >= 500) {
    const word =
      reply.status === 503 ? "service unavailable" : reply.status === 504 ? "timeout" : "bad gateway";
    return new AppError("engine_error", `${what}: engine answered ${reply.status} (${word}): ${reason}`, {
      status: reply.status === 503 ? 503 : 502,
    });
  }
  return new AppError("engine_rejected", `${what}: ${reason}`, { status: reply.status });
}

/** The engine's own error text from the common shapes (vLLM, SGLang, llama.cpp, TGI, Triton). */
export function engineReason(reply: EngineReply): string {
  const j = reply.json as Record<string, unknown> | undefined;
  if (j && typeof j === "object") {
    const err = j.error;
    if (typeof err === "string") return err;
    if (err && typeof err === "object" && typeof (err as { message?: unknown }).message === "string")
      return (err as { message: string }).message;
    if (typeof j.message === "string") return j.message;
    if (typeof j.error_message === "string") return j.error_message;
    if (typeof j.detail === "string") return j.detail;
  }
  return reply.text.trim().slice(0, 500) || `HTTP ${reply.status}`;
}
