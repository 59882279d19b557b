// The parallel transfer: every file is cut into parts; parts from all files share one connection budget,
// used as far as it pays (storage/concurrency.ts grows the count from a start value while throughput rises).
// Each part is fetched as ranged GETs of at most `requestSize` whose chunks are written with positional
// writev calls of about `writeBuffer` bytes; memory is bounded by `memoryBudget`, not by the connection
// count (the client pauses a socket that holds unread bytes). A request that delivers nothing for `stallMs`
// is aborted;
// network failures retry with backoff from the last written byte; a changed source object restarts its
// file; when nothing is left to start, the slowest running part is hedged on a spare connection.
import { withRetryCount } from "../lib/trace.ts";
import { backoffMs } from "../lib/backoff.ts";
import type { Logger } from "../log.ts";
import { collectGarbage, cpuBudget, cpuMicros, residentBytes } from "../platform/process.ts";
import { ConcurrencyTuner, DEFAULT_TUNER } from "./concurrency.ts";
import { DownloadError, isDownloadError, RETRYABLE } from "./errors.ts";
import type { Journal } from "./journal.ts";
import type { PartFile } from "./part-file.ts";
import type { ParsedUri, RemoteFile, Source } from "./types.ts";
import type { Verifier } from "./verify.ts";

export interface FileTask {
  file: RemoteFile;
  fh: PartFile;
  journal: Journal;
  verifier: Verifier;
  partSize: number;
  /** Set by the downloader. */
  state?: "active" | "restarting" | "failed" | "complete";
  restarts?: number;
  /** Bytes written since the last background flush, and that flush while it runs. */
  unsynced?: number;
  syncing?: Promise<void> | null;
}

// Dirty pages are flushed in the background every `syncEvery` bytes of finished parts, so the fsync before
// publishing finds little left to write and disk writeback overlaps the network transfer.

export interface TransferOptions {
  source: Source;
  uri: ParsedUri;
  /** The most connections (DOWNLOADER_NUM_THREADS); `startConnections` are used first, and more while
   *  doubling them raises throughput (see concurrency.ts). */
  connections: number;
  startConnections: number;
  tuneWindowMs: number;
  stallMs: number;
  maxRetries: number;
  hedgeAfterMs: number;
  writeBuffer: number;
  /** Largest single ranged GET. */
  requestSize: number;
  /** Bytes the transfer may hold: each connection's write buffer is a share of it, and the garbage of
   *  received buffers is collected every budget/2 bytes once the process is past RSS_COLLECT (0: never). */
  memoryBudget: number;
  /** Flush a file's dirty pages in the background every this many bytes of finished parts (0: never). */
  syncEvery: number;
  signal: AbortSignal;
  log: Logger;
  onBytes(n: number): void;
  /** All parts of a task are on disk: verify and publish it (may throw to fail that file). */
  onFileComplete(task: FileTask): Promise<void>;
  /** The source object changed: return a fresh task for the new version (empty part file, new journal). */
  restartFile(task: FileTask, why: DownloadError): Promise<FileTask>;
}

interface Part {
  task: FileTask;
  index: number;
  start: number;
  end: number;
  /** Where the next attempt starts (advances when an attempt fails after writing). */
  next: number;
  /** Highest byte offset reached by any attempt (for progress without double counting hedges). */
  reached: number;
  done: boolean;
  attempts: Set<Attempt>;
  retries: number;
  hedged: boolean;
}

interface Attempt {
  part: Part;
  ac: AbortController;
  pos: number;
  startedAt: number;
  lastByteAt: number;
  stalled: boolean;
  hedge: boolean;
}

const MAX_RESTARTS = 2;
/** Resident memory above which received buffers are collected as they become garbage (see the watchdog). */
const RSS_COLLECT = 96 * 1024 * 1024;
/** Past this, a collection also returns the allocator's free pages to the OS (which costs page faults on the
 *  next socket reads). At 160 MiB, 64 fixed capped connections still peaked at 200 MiB on a quiet machine; at
 *  128 MiB they peaked at 169 MiB with the same throughput (BENCHMARKS.md, 2026-11-30 00:56 UTC). */
const RSS_RELEASE = 128 * 1024 * 1024;

export function partsOf(task: FileTask): Part[] {
  const parts: Part[] = [];
  const { size } = task.file;
  const n = size === 0 ? 0 : Math.ceil(size / task.partSize);
  for (let i = 0; i < n; i++) {
    if (task.journal.done.has(i)) continue;
    const start = i * task.partSize;
    const end = Math.min(size, start + task.partSize);
    parts.push({
      task,
      index: i,
      start,
      end,
      next: start,
      reached: start,
      done: false,
      attempts: new Set(),
      retries: 0,
      hedged: false,
    });
  }
  return parts;
}

export async function transfer(tasks: FileTask[], o: TransferOptions): Promise<void> {
  const queue: Part[] = [];
  const running = new Set<Attempt>();
  const openParts = new Map<FileTask, number>();
  const completions: Promise<void>[] = [];
  const fileErrors: unknown[] = [];
  let fatal: unknown = null;
  let waiting = 0; // parts sleeping in backoff or tasks restarting
  const tuner = new ConcurrencyTuner({
    ...DEFAULT_TUNER,
    max: o.connections,
    start: o.startConnections,
    windowMs: o.tuneWindowMs,
    rampWindowMs: Math.min(DEFAULT_TUNER.rampWindowMs, o.tuneWindowMs),
  });
  let arrived = 0; // bytes since the last watchdog tick (for the tuner)
  let collected = 0; // bytes received since the last garbage collection
  let receivedAny = false; // some response delivered bytes: the endpoint is reachable
  // Process CPU time against wall time since the last tick: near every core busy means CPU-bound.
  const cores = cpuBudget();
  let cpuAt = cpuMicros();
  let cpuWall = performance.now();
  const cpuBusy = (now: number) => {
    const cpu = cpuMicros();
    const used = cpu - cpuAt;
    const wall = (now - cpuWall) * 1000; // µs
    cpuAt = cpu;
    cpuWall = now;
    return wall > 0 && used / wall >= 0.8 * cores;
  };
  let finish!: () => void;
  const finished = new Promise<void>((r) => {
    finish = r;
  });

  const addTask = (t: FileTask) => {
    t.state = "active";
    t.restarts ??= 0;
    const parts = partsOf(t);
    openParts.set(t, parts.length);
    if (parts.length === 0) completeTask(t);
    else queue.push(...parts);
  };

  const completeTask = (t: FileTask) => {
    t.state = "complete";
    openParts.delete(t);
    completions.push(
      Promise.resolve(t.syncing)
        .then(() => o.onFileComplete(t))
        .catch((e) => {
          t.state = "failed";
          fileErrors.push(e);
        }),
    );
  };

  const failAll = (e: unknown) => {
    if (fatal) return;
    fatal = e;
    for (const a of running) a.ac.abort();
    queue.length = 0;
    check();
  };

  const check = () => {
    if (running.size === 0 && waiting === 0 && (queue.length === 0 || fatal)) finish();
  };

  const onAbort = () => failAll(new DownloadError("cancelled", "the download was cancelled"));
  if (o.signal.aborted) onAbort();
  o.signal.addEventListener("abort", onAbort, { once: true });

  const watchdog = setInterval(
    () => {
      const now = performance.now();
      for (const a of running)
        if (now - a.lastByteAt > o.stallMs) {
          a.stalled = true;
          a.ac.abort();
        }
      // Every read of a socket arrives in a fresh buffer that is garbage once written; the collector does
      // not count those as pressure soon enough (measured: 64 capped connections, 1 GiB, max RSS 270-280
      // MB without, 150-190 MB with a collection every 16-32 MiB, at the same speed). So once the process
      // is past RSS_COLLECT, garbage is collected every budget/2 bytes received (below it, never: a
      // collection costs CPU that a CPU-bound link needs).
      collected += arrived;
      if (o.memoryBudget > 0 && collected >= o.memoryBudget / 2) {
        collected = 0;
        const rss = residentBytes();
        if (rss > RSS_COLLECT) collectGarbage(rss > RSS_RELEASE);
      }
      const before = tuner.limit;
      tuner.observe(now, arrived, queue.length > 0, cpuBusy(now));
      arrived = 0;
      if (tuner.limit !== before) o.log.debug("connections", { from: before, to: tuner.limit });
      if (!fatal && tuner.limit > before) schedule();
      // Parts become hedgeable with time, not only when another part ends.
      if (!fatal && running.size > 0 && running.size < tuner.limit && queue.length === 0) schedule();
    },
    // Ticks of 50 ms let the tuner's 100 ms ramp windows see two samples each.
    Math.max(20, Math.min(50, o.stallMs / 4, o.hedgeAfterMs / 2)),
  );

  const pick = (): { part: Part; hedge: boolean } | null => {
    while (queue.length > 0) {
      const p = queue.shift()!;
      if (!p.done && p.task.state === "active") return { part: p, hedge: false };
    }
    // Nothing left to start: hedge the running part expected to finish last.
    const now = performance.now();
    let best: Attempt | null = null;
    let bestLeft = 0;
    for (const a of running) {
      const p = a.part;
      if (a.hedge || p.hedged || p.done || p.task.file.acceptRanges === false) continue;
      if (now - a.startedAt < o.hedgeAfterMs) continue;
      const rate = (a.pos - p.next + 1) / (now - a.startedAt);
      const left = (p.end - a.pos) / rate;
      if (p.end - a.pos > 256 * 1024 && left > bestLeft) {
        best = a;
        bestLeft = left;
      }
    }
    if (!best) return null;
    best.part.hedged = true;
    return { part: best.part, hedge: true };
  };

  const schedule = () => {
    if (fatal) return check();
    while (running.size < tuner.limit) {
      const next = pick();
      if (!next) break;
      start(next.part, next.hedge);
    }
    check();
  };

  const start = (part: Part, hedge: boolean) => {
    const from = hedge ? Math.max(part.next, ...[...part.attempts].map((a) => a.pos)) : part.next;
    const now = performance.now();
    const a: Attempt = {
      part,
      ac: new AbortController(),
      pos: from,
      startedAt: now,
      lastByteAt: now,
      stalled: false,
      hedge,
    };
    running.add(a);
    part.attempts.add(a);
    run(a)
      .then(() => onAttemptDone(a))
      .catch((e) => onAttemptFailed(a, e))
      .finally(() => {
        running.delete(a);
        part.attempts.delete(a);
        schedule();
      });
  };

  const onAttemptDone = (a: Attempt) => {
    const p = a.part;
    if (p.done || p.task.state !== "active") return;
    p.done = true;
    for (const other of p.attempts) if (other !== a) other.ac.abort();
    p.task.verifier.rangeDone(p.start, p.end);
    void p.task.journal.markDone(p.index).catch((e) => o.log.warn("journal write failed", { error: e }));
    const t = p.task;
    t.unsynced = (t.unsynced ?? 0) + (p.end - p.start);
    if (o.syncEvery > 0 && t.unsynced >= o.syncEvery && !t.syncing) {
      t.unsynced = 0;
      t.syncing = t.fh
        .datasync()
        .catch(() => {})
        .finally(() => {
          t.syncing = null;
        });
    }
    const left = (openParts.get(p.task) ?? 1) - 1;
    openParts.set(p.task, left);
    if (left === 0) completeTask(p.task);
  };

  const onAttemptFailed = (a: Attempt, e: unknown) => {
    const p = a.part;
    if (fatal || p.done || p.task.state !== "active") return;
    p.next = Math.max(p.next, a.pos);
    if (p.attempts.size > 1) return; // a hedge (or the original) is still running this part
    const err = classify(e, a);
    if (err.reason === "changed") return void restart(p.task, err);
    // A refused connection fails at once, unless this endpoint has already delivered bytes (a server or
    // load balancer restarting in the middle of a download is worth the retries).
    const retryable = RETRYABLE.has(err.reason) || (err.reason === "unreachable" && receivedAny);
    if (!retryable || p.retries >= o.maxRetries) {
      if (retryable) (err as { message: string }).message += ` (gave up after ${p.retries + 1} attempts)`;
      return failAll(err);
    }
    p.retries++;
    if (p.task.file.acceptRanges === false) p.next = p.start;
    const backoff = backoffMs(p.retries, { retryAfterMs: err.retryAfterMs });
    o.log.info("retrying part", {
      file: p.task.file.path,
      part: p.index,
      attempt: p.retries,
      error: err.message,
    });
    waiting++;
    setTimeout(() => {
      waiting--;
      if (!fatal && !p.done) queue.unshift(p);
      schedule();
    }, backoff);
  };

  const restart = async (t: FileTask, why: DownloadError) => {
    if (t.state !== "active") return;
    t.state = "restarting";
    for (const a of running) if (a.part.task === t) a.ac.abort();
    openParts.delete(t);
    if ((t.restarts ?? 0) >= MAX_RESTARTS) {
      t.state = "failed";
      return failAll(why);
    }
    o.log.warn("source object changed; restarting file", { file: t.file.path, reason: why.message });
    waiting++;
    try {
      const fresh = await o.restartFile(t, why);
      fresh.restarts = (t.restarts ?? 0) + 1;
      t.state = "failed";
      if (!fatal) addTask(fresh);
    } catch (e) {
      failAll(e);
    } finally {
      waiting--;
      schedule();
    }
  };

  async function run(a: Attempt): Promise<void> {
    const p = a.part;
    const { file } = p.task;
    // Servers without ranges: one streamed GET of the whole file.
    if (file.acceptRanges === false) return streamInto(a, null, p.end);
    // A part is fetched as requests of at most `requestSize`, each drained before the next is sent, so the
    // runtime never holds more than one request's bytes per connection.
    while (a.pos < p.end) {
      const end = Math.min(p.end, a.pos + o.requestSize);
      await streamInto(a, a.pos === 0 && end === file.size ? null : { start: a.pos, end }, end);
    }
  }

  const advance = (a: Attempt, n: number) => {
    const p = a.part;
    a.pos += n;
    if (a.pos > p.reached) {
      receivedAny = true;
      arrived += a.pos - p.reached;
      o.onBytes(a.pos - p.reached);
      p.reached = a.pos;
    }
  };

  /** Stream one response into the file up to `end`; chunks are gathered and written with one writev per
   *  `writeBuffer` bytes (no copy in JavaScript: measured here, half the CPU of copying into a buffer). */
  async function streamInto(
    a: Attempt,
    range: { start: number; end: number } | null,
    end: number,
  ): Promise<void> {
    const p = a.part;
    const { file, fh } = p.task;
    a.lastByteAt = performance.now();
    const stream = await withRetryCount(p.retries, () => o.source.open(o.uri, file, range, a.ac.signal));
    const reader = stream.getReader();
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const chunks = pending;
      const n = pendingBytes;
      pending = [];
      pendingBytes = 0;
      await writevAt(fh, chunks, n, a.pos);
      advance(a, n);
    };
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        a.lastByteAt = performance.now();
        if (a.pos + pendingBytes + value.length > end)
          throw new DownloadError("changed", `${file.path}: the source sent more bytes than its listed size`);
        pending.push(value);
        pendingBytes += value.length;
        if (pendingBytes >= o.writeBuffer) await flush();
      }
      await flush();
    } finally {
      reader.releaseLock();
      if (a.ac.signal.aborted) stream.cancel().catch(() => {});
    }
    if (a.pos !== end)
      throw new DownloadError(
        "network",
        `${file.path}: connection closed after ${a.pos - p.start} of ${p.end - p.start} bytes`,
      );
  }

  for (const t of tasks) addTask(t);
  schedule();
  try {
    await finished;
  } finally {
    clearInterval(watchdog);
    o.signal.removeEventListener("abort", onAbort);
  }
  await Promise.all(completions);
  if (fatal) throw fatal;
  if (fileErrors.length > 0) throw fileErrors[0];
}

// Writes from many connections into one file contend on the inode lock in the kernel; measured here, 16
// concurrent writers cost about twice the system time of 2. So writes take one of WRITERS slots (each
// connection still awaits its own write, so buffered memory stays connections x writeBuffer).
const WRITERS = 2;
let writersBusy = 0;
const writeWaiters: Array<() => void> = [];

async function writevAt(fh: PartFile, chunks: Uint8Array[], len: number, pos: number): Promise<void> {
  if (writersBusy >= WRITERS) await new Promise<void>((r) => writeWaiters.push(r));
  else writersBusy++;
  try {
    const written = (await fh.writev(chunks, pos).catch(diskFull)).bytesWritten;
    // A short writev (rare on regular files): write what is left chunk by chunk.
    let off = 0;
    for (const c of chunks) {
      const skip = Math.max(0, Math.min(c.length, written - off));
      if (skip < c.length) await writeAll(fh, c.subarray(skip), c.length - skip, pos + off + skip);
      off += c.length;
    }
    if (off !== len) throw new Error(`internal: writev of ${off} bytes, expected ${len}`);
  } finally {
    const next = writeWaiters.shift();
    if (next) next();
    else writersBusy--;
  }
}

async function writeAll(fh: PartFile, buf: Uint8Array, len: number, pos: number): Promise<void> {
  let off = 0;
  while (off < len) off += (await fh.write(buf, off, len - off, pos + off).catch(diskFull)).bytesWritten;
}

/** A write's ENOSPC as the download error it is; any other failure as thrown. */
const diskFull = (e: unknown): never => {
  if ((e as NodeJS.ErrnoException).code === "ENOSPC")
    throw new DownloadError("no_space", "the disk filled up during the download (ENOSPC)");
  throw e;
};

function classify(e: unknown, a: Attempt): DownloadError {
  if (a.stalled)
    return new DownloadError(
      "network",
      `${a.part.task.file.path}: no data received for too long (stalled), retrying`,
    );
  if (isDownloadError(e)) return e;
  const err = e as Error & { code?: string };
  if (err?.code === "ENOSPC")
    return new DownloadError("no_space", "the disk filled up during the download (ENOSPC)");
  if (err?.name === "AbortError" || err?.name === "TimeoutError")
    return new DownloadError("network", `${a.part.task.file.path}: request aborted`);
  if (
    err &&
    (err.code === "EACCES" || err.code === "EROFS" || err.code === "EISDIR" || err.code === "ENOTDIR")
  )
    return new DownloadError("internal", `cannot write ${a.part.task.file.path}: ${err.message}`);
  return new DownloadError("network", `${a.part.task.file.path}: ${err?.message ?? String(e)}`, { cause: e });
}
