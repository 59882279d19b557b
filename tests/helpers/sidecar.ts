// Spawn the compiled binary (dist/airuntime, or $AIRUNTIME_BIN) on a free port and wait until it listens.
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";

export const BIN = resolve(process.env.AIRUNTIME_BIN ?? "dist/airuntime");

export interface Proc {
  url: string;
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Parsed JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  /** Resolve when a log/output line matching `re` appears (or reject after timeoutMs). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM (or the given signal) and wait for exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export function spawnProcess(
  cmd: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Proc {
  const proc = spawn(cmd, args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as Record<string, string>,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const waiters: Array<{ re: RegExp; resolve: (s: string) => void }> = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      const m = w.re.exec(out);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m[0]);
      }
    }
  };
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  const p: Proc = {
    url: "",
    proc,
    output: () => out,
    logs: () =>
      out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    waitFor(re, timeoutMs = 10_000) {
      const m = re.exec(out);
      if (m) return Promise.resolve(m[0]);
      return new Promise((resolvePromise, reject) => {
        const t = setTimeout(
          () => reject(new Error(`timeout waiting for ${re} in output:\n${out.slice(-2000)}`)),
          timeoutMs,
        );
        waiters.push({
          re,
          resolve: (s) => {
            clearTimeout(t);
            resolvePromise(s);
          },
        });
        exited.then(() => {
          clearTimeout(t);
          reject(new Error(`process exited while waiting for ${re}:\n${out.slice(-2000)}`));
        });
      });
    },
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
    exited,
  };
  return p;
}

/** Start the sidecar binary with `env` on 127.0.0.1 and a free port; resolves once it logs its URL. */
export async function startSidecar(
  env: Record<string, string | undefined> = {},
  args: string[] = [],
  bin = BIN,
): Promise<Proc> {
  const p = spawnProcess(bin, ["--host", "127.0.0.1", "--port", "0", ...args], {
    INFERENCE_ENGINE_ENDPOINT: "http://127.0.0.1:9",
    AIRUNTIME_READY_INTERVAL: "0.1",
    ...env,
  });
  const line = await p.waitFor(/"msg":"airuntime listening"[^\n]*/);
  const url = /"url":"([^"]+)"/.exec(line)?.[1];
  if (!url) throw new Error(`no url in ${line}`);
  return Object.assign(p, { url });
}

/** Poll `fn` until it returns a truthy value (never sleeps blindly in tests; bounded by timeoutMs). */
export async function waitUntil<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, stepMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
