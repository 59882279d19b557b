// Hashing on a second thread: a worker re-reads each file's finished prefix from the page cache and feeds
// it to SHA-256 / SHA-1 / MD5, so verification runs on the other core while the main thread moves bytes.
// The worker's code is a string (a Blob URL module) so it is part of the compiled binary.
import { createHash, type Hash } from "node:crypto";
import type { PartFile } from "./part-file.ts";

const WORKER_SOURCE = `
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { open } from "node:fs/promises";
const jobs = new Map();
const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
let busy = Promise.resolve();
// The file is opened for one pump at a time (never through a link), so the worker holds at most one
// descriptor however many files are being hashed.
async function pump(job) {
  if (job.cursor >= job.target) return;
  const fh = await open(job.path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  try {
    while (job.cursor < job.target) {
      const n = Math.min(buf.length, job.target - job.cursor);
      const { bytesRead } = await fh.read(buf, 0, n, job.cursor);
      if (bytesRead <= 0) throw new Error("short read at " + job.cursor);
      job.hash.update(buf.subarray(0, bytesRead));
      job.cursor += bytesRead;
    }
  } finally {
    await fh.close();
  }
}
self.onmessage = (ev) => {
  const m = ev.data;
  busy = busy.then(async () => {
    try {
      if (m.type === "start") {
        const hash = createHash(m.algorithm);
        if (m.prefix) hash.update(m.prefix);
        jobs.set(m.id, { path: m.path, hash, cursor: 0, target: 0 });
      } else if (m.type === "advance") {
        const job = jobs.get(m.id);
        if (job && m.end > job.target) { job.target = m.end; await pump(job); }
      } else if (m.type === "finish" || m.type === "cancel") {
        const job = jobs.get(m.id);
        if (!job) return;
        jobs.delete(m.id);
        if (m.type === "finish") self.postMessage({ id: m.id, digest: job.hash.digest("hex"), hashed: job.cursor });
      }
    } catch (e) {
      const job = jobs.get(m.id);
      jobs.delete(m.id);
      self.postMessage({ id: m.id, error: String(e && e.message || e) });
    }
  });
};
`;

export interface HashJob {
  /** The contiguous prefix [0, end) is on disk. */
  advance(end: number): void;
  /** Digest of the first `size` bytes (waits for the worker). */
  finish(): Promise<{ digest: string; hashed: number }>;
  cancel(): void;
}

let worker: Worker | null | undefined;
let seq = 0;
let live = 0;
const waiting = new Map<
  number,
  { resolve: (v: { digest: string; hashed: number }) => void; reject: (e: Error) => void }
>();

function getWorker(): Worker | null {
  if (worker !== undefined) return worker;
  try {
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
    const w = new Worker(url, { type: "module" });
    w.onmessage = (ev: MessageEvent) => {
      const m = ev.data as { id: number; digest?: string; hashed?: number; error?: string };
      const p = waiting.get(m.id);
      if (!p) return;
      waiting.delete(m.id);
      if (m.error) p.reject(new Error(m.error));
      else p.resolve({ digest: m.digest!, hashed: m.hashed! });
    };
    (w as unknown as { unref?: () => void }).unref?.();
    worker = w;
  } catch {
    worker = null;
  }
  return worker;
}

/** A hashing job on the worker thread, or null when workers are unavailable (hash in-thread then). */
export function startWorkerHash(path: string, algorithm: string, prefix?: string): HashJob | null {
  const w = getWorker();
  if (!w) return null;
  const id = ++seq;
  // Keep the process alive only while a job is open (an idle worker must not block exit).
  if (live++ === 0) (w as unknown as { ref?: () => void }).ref?.();
  w.postMessage({ type: "start", id, path, algorithm, prefix });
  let ended = false;
  const end = () => {
    if (!ended) {
      ended = true;
      if (--live === 0) (w as unknown as { unref?: () => void }).unref?.();
    }
  };
  return {
    advance: (e) => w.postMessage({ type: "advance", id, end: e }),
    finish() {
      return new Promise((resolve, reject) => {
        waiting.set(id, {
          resolve: (v) => {
            end();
            resolve(v);
          },
          reject: (e) => {
            end();
            reject(e);
          },
        });
        w.postMessage({ type: "finish", id });
      });
    },
    cancel() {
      end();
      w.postMessage({ type: "cancel", id });
    },
  };
}

/** In-thread fallback with the same shape. */
export function startLocalHash(fh: Pick<PartFile, "read">, algorithm: string, prefix?: string): HashJob {
  const hash: Hash = createHash(algorithm);
  if (prefix) hash.update(prefix);
  const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
  let cursor = 0;
  let target = 0;
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown = null;
  const pump = async () => {
    while (cursor < target) {
      const n = Math.min(buf.length, target - cursor);
      const { bytesRead } = await fh.read(buf, 0, n, cursor);
      if (bytesRead <= 0) throw new Error(`short read at ${cursor}`);
      hash.update(buf.subarray(0, bytesRead));
      cursor += bytesRead;
    }
  };
  return {
    advance(e) {
      if (e <= target) return;
      target = e;
      chain = chain.then(pump).catch((err) => {
        failure = err;
      });
    },
    async finish() {
      await chain;
      if (failure) throw failure;
      return { digest: hash.digest("hex"), hashed: cursor };
    },
    cancel() {},
  };
}
