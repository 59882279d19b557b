// The sidecar in this process (composeSidecar; routes through app.request, no socket, no binary) with the
// shape route tests use from a spawned one: `app` for call(), the log output, waitFor a log line, stop().
// Tests of the compiled binary itself (CLI, signals, sockets, start-up) keep startSidecar (sidecar.ts).
import type { Hono } from "hono";
import { inProc } from "./inproc.ts";
import { waitUntil } from "./sidecar.ts";

export interface InProcessSidecar {
  app: Hono;
  /** Every log line so far (JSON lines, as the binary would print them). */
  output(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Start with `env` (as startSidecar takes it); state lives where env's directories say, else in `dir`. */
export async function startInProcess(env: Record<string, string>, dir?: string): Promise<InProcessSidecar> {
  const s = await inProc({ AIRUNTIME_READY_INTERVAL: "0.1", LOG_LEVEL: "info", ...env }, dir);
  const output = () => s.lines.join("\n");
  return {
    app: s.sidecar.app,
    output,
    waitFor: (re, timeoutMs = 10_000) =>
      waitUntil(() => re.exec(output())?.[0], timeoutMs).then((m) => m as string),
    stop: () => s.sidecar.stop(),
  };
}
