// JSON-lines logger. Every line carries the request id of the request it runs under (AsyncLocalStorage),
// and any field whose name looks like a secret is redacted before it is written.
import { AsyncLocalStorage } from "node:async_hooks";
import { redactDeep } from "./redact.ts";

export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export const requestScope = new AsyncLocalStorage<{ requestId: string }>();

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export type Sink = (line: string) => void;

const stdoutSink: Sink = (line) => {
  process.stdout.write(line + "\n");
};

export function parseLevel(s: string | undefined): Level {
  const l = (s ?? "info").toLowerCase();
  if (l === "warning") return "warn";
  if (l === "critical" || l === "fatal") return "error";
  return l in ORDER ? (l as Level) : "info";
}

export function createLogger(
  opts: { level?: Level; sink?: Sink; base?: Record<string, unknown> } = {},
): Logger {
  const min = ORDER[opts.level ?? "info"];
  const sink = opts.sink ?? stdoutSink;
  const base = opts.base ?? {};
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const scope = requestScope.getStore();
    const rec: Record<string, unknown> = {
      ts: new Date().toISOString(),
      level,
      msg,
      ...(scope ? { request_id: scope.requestId } : {}),
      ...base,
      ...fields,
    };
    for (const [k, v] of Object.entries(rec)) if (v instanceof Error) rec[k] = serializeError(v);
    sink(JSON.stringify(redactDeep(rec)));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ level: opts.level, sink, base: { ...base, ...fields } }),
  };
}

function serializeError(e: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { name: e.name, message: e.message };
  if ((e as { code?: unknown }).code) out.code = (e as { code?: unknown }).code;
  if (e.cause instanceof Error) out.cause = serializeError(e.cause);
  return out;
}

/** A logger that drops everything; for tests and library callers. */
export const silentLogger: Logger = createLogger({ sink: () => {} });
