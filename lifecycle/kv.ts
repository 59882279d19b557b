// KV cache figures and limits for kvcached engines. Usage is read from the shared-memory segment
// /dev/shm/<ipc_name> (three little-endian int64: total, used, prealloc); limits go through a command
// (AIBrix: `kvctl limit <ipc> <bytes>`), configurable with AIRUNTIME_KVCTL_COMMAND.
import { execFile } from "node:child_process";
import { Buffer } from "node:buffer";
import { closeSync, openSync, readSync } from "node:fs";
import { parseTemplate } from "../lib/command-line.ts";
import { reportOnce } from "../lib/report-once.ts";
import type { Logger } from "../log.ts";

export interface KvUsage {
  total: number;
  used: number;
}

// A segment that does not exist (yet) is a model without kvcached: zeros, nothing to say. Any other
// failure to read it (permissions, I/O) is logged once per segment with its cause, and reads as zeros.
const segmentFailures = reportOnce("cannot read the kvcached segment");
const unreadable = (log: Logger | undefined, path: string, e: unknown): KvUsage => {
  if ((e as NodeJS.ErrnoException).code !== "ENOENT") segmentFailures.failed(log, path, e);
  return { total: 0, used: 0 };
};

/** A segment's figures, read synchronously (scrape-time gauges use it too; the segment is 24 bytes in tmpfs). */
export function readKvUsageSync(ipcName: string, shmDir = "/dev/shm", log?: Logger): KvUsage {
  let fd: number | undefined;
  try {
    fd = openSync(`${shmDir}/${ipcName}`, "r");
    const buf = Buffer.alloc(24);
    if (readSync(fd, buf, 0, 24, 0) < 24) return { total: 0, used: 0 };
    segmentFailures.ok(log, `${shmDir}/${ipcName}`);
    return decode(buf);
  } catch (e) {
    return unreadable(log, `${shmDir}/${ipcName}`, e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export const readKvUsage = async (ipcName: string, shmDir = "/dev/shm", log?: Logger): Promise<KvUsage> =>
  readKvUsageSync(ipcName, shmDir, log);

function decode(buf: Buffer): KvUsage {
  return {
    total: Number(buf.readBigInt64LE(0)),
    used: Number(buf.readBigInt64LE(8)) + Number(buf.readBigInt64LE(16)),
  };
}

export type KvLimiter = (ipcName: string, limitBytes: number) => Promise<void>;

/** A limiter running `template` ({ipc_name}, {limit_bytes}) with a 10 s deadline; failures carry stderr. */
export function commandLimiter(template: string, timeoutMs = 10_000): KvLimiter {
  const argv = parseTemplate(template);
  return (ipcName, limitBytes) =>
    new Promise((resolve, reject) => {
      const args = argv.map((t) =>
        t.replace(/\{ipc_name\}/g, ipcName).replace(/\{limit_bytes\}/g, String(limitBytes)),
      );
      execFile(args[0]!, args.slice(1), { timeout: timeoutMs }, (err, _stdout, stderr) => {
        if (!err) return resolve();
        const why = err.killed ? `timed out after ${timeoutMs / 1000} s` : err.message.split("\n")[0];
        reject(
          new Error(
            `${args.join(" ")} failed: ${why}${stderr.trim() ? `: ${stderr.trim().slice(0, 500)}` : ""}`,
          ),
        );
      });
    });
}
