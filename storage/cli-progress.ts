// What `airuntime download` shows while it works, as `hf download` and `aws s3 cp` users expect.
//   terminal: one bar redrawn in place (cut to the terminal's width, so a narrow terminal never wraps it
//             into new lines), one human line per event (resuming, retry, warning), a final summary;
//   not a terminal: JSON lines, progress every 10 s or every 5 %, whichever comes first;
//   --quiet: nothing but failures.
import { fmtBytes } from "./plan.ts";
import { progressGate } from "./progress.ts";
import type { DownloadProgress } from "./types.ts";

export interface ProgressUi {
  /** A download progress tick. */
  progress(p: DownloadProgress): void;
  /** A log line of the download (JSON); shown as a human line on a terminal when it matters. */
  logLine(line: string): void;
  /** A line of its own (the summary, "already complete"): the bar is cleared first. */
  say(line: string): void;
  /** Clear the bar (before the final error line). */
  clear(): void;
}

export interface UiOptions {
  tty: boolean;
  quiet: boolean;
  /** Terminal width (defaults to 80 when unknown). */
  columns?: () => number | undefined;
  write: (s: string) => void;
  /** Whether info-level log lines show (LOG_LEVEL=debug on a terminal shows everything). */
  verbose?: boolean;
  now?: () => number;
}

export const PROGRESS_EVERY_MS = 10_000;
export const PROGRESS_EVERY_FRACTION = 0.05;

export function createProgressUi(o: UiOptions): ProgressUi {
  let barShown = false;
  const clear = () => {
    if (barShown) o.write("\r\x1b[K");
    barShown = false;
  };
  const line = (s: string) => {
    clear();
    o.write(`${s}\n`);
  };
  const gate = progressGate(PROGRESS_EVERY_MS, PROGRESS_EVERY_FRACTION, o.now);
  return {
    progress(p) {
      if (o.quiet) return;
      if (o.tty) {
        const width = Math.max(20, (o.columns?.() ?? 80) - 1);
        o.write(`\r${fit(barText(p, width), width)}\x1b[K`);
        barShown = true;
        return;
      }
      if (gate(p)) {
        o.write(
          `${JSON.stringify({ ts: new Date().toISOString(), level: "info", msg: "progress", app: "airuntime", cmd: "download", ...p })}\n`,
        );
      }
    },
    logLine(raw) {
      if (!o.tty) {
        if (!o.quiet || /"level":"(warn|error)"/.test(raw)) o.write(`${raw}\n`);
        return;
      }
      const human = humanLine(raw, o.verbose ?? false);
      if (human && !o.quiet) line(human);
    },
    say(s) {
      if (o.quiet) return;
      if (o.tty) line(s);
      else
        o.write(
          `${JSON.stringify({ ts: new Date().toISOString(), level: "info", msg: s, app: "airuntime", cmd: "download" })}\n`,
        );
    },
    clear,
  };
}

/** Cut a line to `width` columns (ASCII: one column per character). */
export function fit(s: string, width: number): string {
  return s.length <= width ? s : `${s.slice(0, Math.max(0, width - 1))}…`;
}

export function barText(p: DownloadProgress, width: number): string {
  const frac = p.bytes_total > 0 ? Math.min(1, p.bytes_done / p.bytes_total) : p.phase === "done" ? 1 : 0;
  // Most important first; a narrow terminal drops the tail rather than wrapping.
  const parts = [
    `${(frac * 100).toFixed(0).padStart(3)}%`,
    `${fmtBytes(p.bytes_done)}/${fmtBytes(p.bytes_total)}`,
    `${fmtBytes(p.rate)}/s`,
    p.phase === "done" ? "" : `eta ${p.eta === null ? "--" : fmtSeconds(p.eta)}`,
    `${p.files_done}/${p.files_total} files`,
    p.phase === "downloading" ? "" : p.phase,
  ].filter(Boolean);
  const minBar = 10;
  let tail = "";
  for (const part of parts) {
    if (tail.length + part.length + 1 + minBar + 2 > width) break;
    tail += ` ${part}`;
  }
  const barWidth = Math.max(minBar, Math.min(30, width - tail.length - 2));
  const filled = Math.round(frac * barWidth);
  return `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]${tail}`;
}

export function fmtSeconds(s: number): string {
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** The final line: `downloaded 3 files, 300.0 MiB in 9.1 s (33.0 MiB/s), verified`. */
export function summaryLine(
  r: { files: number; bytes: number; fetchedBytes: number },
  seconds: number,
  verified: boolean,
): string {
  const rate = seconds > 0 ? r.fetchedBytes / seconds : 0;
  const kept = r.bytes - r.fetchedBytes;
  const reused = kept > 0 ? `, ${fmtBytes(kept)} already on disk` : "";
  return `downloaded ${r.files} file${r.files === 1 ? "" : "s"}, ${fmtBytes(r.fetchedBytes)} in ${seconds.toFixed(1)} s (${fmtBytes(rate)}/s)${reused}, ${verified ? "verified" : "not verified (AIRUNTIME_DOWNLOAD_VERIFY=false)"}`;
}

/** A JSON log line as the one human line a terminal shows for it, or null when it does not matter there. */
export function humanLine(raw: string, verbose: boolean): string | null {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return raw;
  }
  const msg = String(r.msg ?? "");
  if (msg === "resuming") return `resuming: ${r.parts_already_done} parts already on disk`;
  if (msg === "retrying part") return `retrying ${r.file} (part ${r.part}, attempt ${r.attempt}): ${r.error}`;
  if (msg === "retrying listing") return `retrying the listing (attempt ${r.attempt}): ${r.error}`;
  if (msg === "waiting for another process downloading this model")
    return `waiting for process ${r.holder_pid ?? "?"}, which is downloading this model`;
  if (msg === "download failed" || msg === "progress") return null; // the error line / the bar tell these
  if (r.level === "warn" || r.level === "error") return `warning: ${msg}${r.error ? `: ${r.error}` : ""}`;
  return verbose
    ? `${msg} ${JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !["ts", "level", "msg", "app", "cmd"].includes(k))))}`
    : null;
}
