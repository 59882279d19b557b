// The downloader for every source: plan -> lock -> parallel ranged transfer with a per-part journal
// -> verify (overlapping) -> atomic publish -> model-level completion marker, written last.
// `downloadModel` serves /v1/model/download and the CLI; `makeFetchToDir` serves LoRA artifacts and lifecycle weights.
import { withRetryCount } from "../lib/trace.ts";
import { randomBytes } from "node:crypto";
import { writeFileAtomic } from "../lib/atomic-write.ts";
import { backoffMs } from "../lib/backoff.ts";
import { constants } from "node:fs";
import { lstat, open, readFile, rename, rm, symlink } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { DEFAULT_DOWNLOAD_TUNING, type DownloadTuning } from "../config.ts";
import { createLogger, type Logger } from "../log.ts";
import { redactString, redactUrlCredentials } from "../redact.ts";
import { type DirTree, O_NOFOLLOW, openTree } from "../validate/roots.ts";
import { asDownloadError, DownloadError, Shutdown } from "./errors.ts";
import { openJournal } from "./journal.ts";
import { aibrixLayout, hfCacheLayout, type Layout } from "./layout.ts";
import { acquireLock, type Lock } from "./lock.ts";
import { createPartFilePool, type PartFilePool } from "./part-file.ts";
import { checkFreeSpace, type Filters, fmtBytes, listFiles } from "./plan.ts";
import { createProgress } from "./progress.ts";
import { observeDownload } from "./metrics.ts";
import { type ResumeInfo, type StatusRecord, writeStatus } from "./status.ts";
import { createSource, type SourceSettings } from "./sources/index.ts";
import { type FileTask, transfer } from "./transfer.ts";
import type {
  Credentials,
  DownloadProgress,
  FetchToDir,
  FetchToDirResult,
  ParsedUri,
  RemoteFile,
  Source,
} from "./types.ts";
import { inferModelName, parseUri, sourceName } from "./uri.ts";
import { createVerifier } from "./verify.ts";

/** The download settings of the Config (connections, startConnections, partSize, stallMs, maxRetries, verify,
 *  fsync: config.ts) plus the downloader's own constants. `connections` is the most a download grows to; it
 *  starts with `startConnections` and doubles while that pays (storage/concurrency.ts). */
export type TransferTuning = DownloadTuning & {
  /** Throughput is judged over windows of this length (storage/concurrency.ts). */
  tuneWindowMs: number;
  hedgeAfterMs: number;
  writeBuffer: number;
  /** Bytes in flight (held in memory) across all connections, whatever their number: each connection's write
   *  buffer is budget / (2 x connections), and received buffers are collected every budget / 2 bytes. */
  memoryBudget: number;
  lockStaleMs: number;
};

export const DEFAULT_TUNING: TransferTuning = {
  ...DEFAULT_DOWNLOAD_TUNING,
  tuneWindowMs: 1000,
  hedgeAfterMs: 2000,
  writeBuffer: 512 * 1024,
  memoryBudget: 32 * 1024 * 1024,
  lockStaleMs: 30_000,
};

export interface DownloadRequest extends Filters {
  uri: string | ParsedUri;
  localDir: string;
  modelName?: string;
  revision?: string;
  layout?: "aibrix" | "hf-cache";
  /** Model root chosen by the caller (fetchToDir staging); overrides localDir/modelName. */
  root?: string;
  force?: boolean;
  /** Skip files whose size and recorded ETag already match (DOWNLOADER_CHECK_FILE_EXIST). */
  checkExisting?: boolean;
  settings: SourceSettings;
  credentials?: Credentials;
  tuning?: Partial<TransferTuning>;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  log?: Logger;
  /** Take the model lock (default true). */
  lock?: boolean;
  /** Never ask the source whether a complete model's revision moved; fail when the model is not complete. */
  offline?: boolean;
  /** Written into the status file: how the download starts again after a shutdown (API downloads). */
  resume?: ResumeInfo;
}

export interface DownloadResult {
  modelName: string;
  root: string;
  /** What the engine should load. */
  path: string;
  source: string;
  files: number;
  bytes: number;
  /** Bytes fetched from the source by this call (0 when everything was already there). */
  fetchedBytes: number;
  /** The commit downloaded (Hugging Face). */
  commit?: string;
  /** Nothing was fetched: the model was complete (and, for a moving revision, still current). */
  alreadyComplete?: boolean;
}

export interface ModelTarget {
  uri: ParsedUri;
  modelName: string;
  source: string;
  layout: Layout;
}

/** Where a request's model lives, without touching the network. */
export function resolveTarget(
  req: Pick<DownloadRequest, "uri" | "localDir" | "modelName" | "revision" | "layout" | "root">,
): ModelTarget {
  const uri = typeof req.uri === "string" ? parseUri(req.uri) : req.uri;
  if (req.revision && uri.scheme === "hf") uri.revision = req.revision;
  const modelName = (req.modelName ?? inferModelName(uri)).replace(/^\/+|\/+$/g, "");
  if (!modelName || modelName.split("/").some((s) => s === ".." || s === "." || s === ""))
    throw new DownloadError("bad_uri", `invalid model name '${req.modelName ?? modelName}'`);
  const source = sourceName(uri);
  const layout =
    req.root !== undefined
      ? aibrixLayout(req.root, source)
      : req.layout === "hf-cache" && uri.scheme === "hf"
        ? hfCacheLayout(req.localDir, uri.bucket!)
        : aibrixLayout(join(req.localDir, modelName), source);
  return { uri, modelName, source, layout };
}

const inProcess = new Map<string, Promise<DownloadResult>>();

/** Download a model; concurrent calls for the same root share one transfer (in-process and across processes). */
export function downloadModel(req: DownloadRequest): Promise<DownloadResult> {
  const target = resolveTarget(req);
  const key = target.layout.root;
  const existing = inProcess.get(key);
  if (existing) return existing;
  const p = runDownload(req, target).finally(() => inProcess.delete(key));
  inProcess.set(key, p);
  return p;
}

async function runDownload(req: DownloadRequest, t: ModelTarget): Promise<DownloadResult> {
  const tune = { ...DEFAULT_TUNING, ...req.tuning };
  const log = (req.log ?? createLogger({ level: "warn" })).child({ model: t.modelName, uri: t.uri.raw });
  const signal = req.signal ?? new AbortController().signal;
  const { layout } = t;
  const source = createSource(t.uri, req.settings, req.credentials); // credential errors before any I/O
  await source.authenticate?.(signal);
  // Status files never hold a URL's credentials (signed query parameters, user:pass@).
  const card = {
    model_name: t.modelName,
    model_root_path: layout.root,
    source: t.source,
    uri: redactUrlCredentials(t.uri.raw),
    ...(req.resume ? { resume: req.resume } : {}),
  };
  let lastProgress: DownloadProgress | undefined;
  const observer = observeDownload(t.source, t.modelName);
  // Status writes are serialized, and progress ticks stop once the final status is being written, so a
  // late tick can never overwrite "downloaded"/"failed".
  let statusChain: Promise<void> = Promise.resolve();
  let final = false;
  let tree: DirTree | null = null;
  // A status that cannot be written leaves the download itself alone (its files and marker decide
  // "downloaded"); the first failure of this download is logged with its cause.
  let statusFailed = false;
  const saveStatus = (rec: Omit<StatusRecord, "pid" | "updated">) => {
    statusChain = statusChain
      .then(() => (tree ? writeStatus(layout, rec, tree) : undefined))
      .catch((e) => {
        if (!statusFailed)
          log.warn("could not write the download status", { file: layout.statusFile, error: e });
        statusFailed = true;
      });
    return statusChain;
  };
  const progress = createProgress((p) => {
    lastProgress = p;
    observer.progress(p.bytes_done, p.bytes_total);
    req.onProgress?.(p);
    if (lock && !final) void saveStatus({ ...card, status: "downloading", progress: p });
  });
  let lock: Lock | null = null;
  const openTasks = new Set<FileTask>();
  const pool = createPartFilePool();
  const started = performance.now();
  try {
    // Every directory below local_dir is created or walked without following links (shared volume).
    tree = await openTree(req.localDir, layout.root, { fail: forbidden });
    await tree.dir(layout.stateDir);
    await tree.dir(layout.partialDir);
    if (req.lock !== false)
      lock = await acquireLock(layout.modelLock, {
        staleMs: tune.lockStaleMs,
        signal,
        onWait: (holder, ms) =>
          log.info("waiting for another process downloading this model", {
            holder_pid: holder?.pid,
            waited_s: Math.round(ms / 1000),
          }),
      });
    // Checked under the lock (B13): a model finished by another process is reused, not fetched again.
    if (!req.force) {
      const done = await readMarker(layout, tree);
      // A complete model of a moving revision (a branch) is checked with one call: unchanged, it is
      // reused; moved, the download goes on and fetches only the files that changed (ETags differ).
      const now =
        done?.commit && !req.offline && source.resolveRevision
          ? await withRetries(() => source.resolveRevision!(t.uri, signal), tune.maxRetries, log, signal)
          : done?.commit;
      if (done && now === done.commit) {
        progress.setTotals(done.files, done.bytes);
        progress.addResumed(done.bytes);
        progress.setPhase("done");
        observer.progress(done.bytes, done.bytes);
        observer.end("ok");
        return {
          ...done,
          modelName: t.modelName,
          root: layout.root,
          source: t.source,
          fetchedBytes: 0,
          alreadyComplete: true,
        };
      }
      if (done) {
        log.info("revision moved; fetching what changed", { from: done.commit, to: now });
        await rm(layout.marker, { force: true });
      } else if (req.offline)
        throw new DownloadError(
          "not_found",
          `--offline: ${layout.root} holds no complete download of ${t.uri.raw}; run without --offline to download it`,
        );
    }
    await saveStatus({ ...card, status: "downloading", progress: progress.snapshot() });
    const files = await withRetries(
      () => listFiles(source, t.uri, req, signal),
      tune.maxRetries,
      log,
      signal,
    );
    const commit = source.pinnedRevision?.(t.uri);
    const total = files.reduce((s, f) => s + f.size, 0);
    const cap = req.settings.downloader?.maxBytes ?? 0;
    if (cap > 0 && total > cap)
      throw new DownloadError(
        "too_large",
        `${t.uri.raw} holds ${fmtBytes(total)}, more than AIRUNTIME_MAX_DOWNLOAD_BYTES (${fmtBytes(cap)})`,
      );
    progress.setTotals(files.length, total);
    observer.progress(0, total);
    log.info("planned download", { files: files.length, bytes: total, commit });

    // Skip files already published with the same ETag and size; the rest need space.
    const todo: RemoteFile[] = [];
    let need = 0;
    for (const f of files) {
      const paths = layout.files(f, commit);
      if (!req.force && req.checkExisting !== false && (await isPublished(paths.final, paths.metadata, f))) {
        if (paths.link) await linkSnapshot(tree, paths.final, paths.link);
        progress.addResumed(f.size);
        progress.fileDone();
        continue;
      }
      todo.push(f);
      need += f.size - (await allocated(paths.part));
    }
    await checkFreeSpace(layout.root, need);

    // Small files first: they finish early and the big ones then share every connection.
    todo.sort((a, b) => a.size - b.size);
    const prepare = async (f: RemoteFile, fresh: boolean) => {
      const task = await prepareTask(layout, tree!, pool, f, commit, tune, fresh, progress);
      openTasks.add(task);
      return task;
    };
    const tasks: FileTask[] = [];
    for (const f of todo) tasks.push(await prepare(f, req.force === true));
    const resumed = tasks.reduce((s, k) => s + k.journal.done.size, 0);
    if (resumed > 0) log.info("resuming", { parts_already_done: resumed });
    progress.setPhase("downloading");

    await transfer(tasks, {
      source,
      uri: t.uri,
      connections: tune.connections,
      startConnections: tune.startConnections,
      tuneWindowMs: tune.tuneWindowMs,
      stallMs: tune.stallMs,
      maxRetries: tune.maxRetries,
      hedgeAfterMs: tune.hedgeAfterMs,
      // The in-flight budget, not the connection count, bounds memory: each connection's write buffer is
      // its share (64-512 KiB; the bulk client holds at most 128 KiB more per connection before it pauses
      // the socket). Requests stay >= 4 MiB so an object store's time to first byte is paid rarely.
      writeBuffer: Math.max(
        64 * 1024,
        Math.min(tune.writeBuffer, Math.floor(tune.memoryBudget / (2 * tune.connections))),
      ),
      requestSize: Math.min(
        tune.partSize,
        Math.max(4 * 1024 * 1024, Math.floor(tune.memoryBudget / tune.connections)),
      ),
      memoryBudget: tune.memoryBudget,
      syncEvery: tune.fsync ? 64 * 1024 * 1024 : 0,
      signal,
      log,
      onBytes: (n) => {
        progress.addBytes(n);
        observer.bytes(n);
      },
      onFileComplete: async (task) => {
        await publishFile(layout, tree!, task, commit, t, tune.fsync);
        progress.fileDone();
      },
      restartFile: async (task) => {
        task.verifier.cancel();
        await task.fh.close().catch(() => {});
        const fresh = await relist(source, t.uri, task.file, signal);
        return prepare(fresh, true);
      },
    });

    progress.setPhase("publishing");
    await tree.verify();
    await fsyncDir(layout.root);
    const result = { files: files.length, bytes: total, path: layout.modelPath(commit) };
    await writeAtomic(
      tree,
      layout.marker,
      JSON.stringify({ ...card, ...result, commit, completed: new Date().toISOString() }),
    );
    if (layout.ref && commit)
      await writeAtomic(tree, layout.ref(t.uri.revision ?? req.settings.hf.revision ?? "main"), commit);
    final = true;
    progress.setPhase("done");
    await saveStatus({
      ...card,
      status: "downloaded",
      progress: progress.snapshot(),
      model_path: result.path,
    });
    observer.progress(total, total);
    observer.end("ok");
    log.info("download complete", {
      files: files.length,
      bytes: total,
      fetched: progress.fetched(),
      seconds: Math.round((performance.now() - started) / 100) / 10,
    });
    return {
      ...result,
      modelName: t.modelName,
      root: layout.root,
      source: t.source,
      fetchedBytes: progress.fetched(),
      ...(commit ? { commit } : {}),
    };
  } catch (e) {
    // A file-system error after a directory of ours became a link is reported as that (forbidden).
    const swapped =
      e instanceof DownloadError || !tree
        ? null
        : await tree.check(join(layout.partialDir, "-")).then(
            () => null,
            (x: unknown) => x,
          );
    // Stopped by a shutdown of this process: the parts stay and the status says how it resumes.
    const interrupted = signal.aborted && signal.reason instanceof Shutdown;
    const err = interrupted
      ? new DownloadError("cancelled", signal.reason.message, { cause: e })
      : e instanceof DownloadError
        ? e
        : swapped instanceof DownloadError
          ? swapped
          : asDownloadError(e);
    final = true;
    progress.setPhase("failed");
    // Partial files are kept only where a rerun can resume them (network trouble, cancellation); after
    // any other failure nothing partial stays behind.
    if (err.reason !== "network" && err.reason !== "cancelled")
      for (const task of openTasks) {
        const paths = layout.files(task.file, source.pinnedRevision?.(t.uri));
        task.verifier.cancel();
        await task.fh.close().catch(() => {});
        // Only while no directory above them became a link.
        if (await tree?.check(paths.part).catch(() => null)) {
          await rm(paths.part, { force: true });
          await rm(paths.journal, { force: true });
        }
      }
    observer.end(err.reason);
    if (interrupted) {
      const how = !req.resume
        ? "run the same command again to resume it"
        : req.resume.needs_credentials
          ? "it resumes on the next POST /v1/model/download for it (its credentials are never stored)"
          : "it resumes when the sidecar starts again, or on the next POST /v1/model/download";
      await saveStatus({
        ...card,
        status: "interrupted",
        progress: lastProgress ?? progress.snapshot(),
        error: {
          reason: "interrupted",
          message: `${err.message}: the parts downloaded so far are kept; ${how}`,
        },
      });
      log.info("download interrupted", { reason: "interrupted", resumes: how });
      throw err;
    }
    await saveStatus({
      ...card,
      status: "failed",
      progress: lastProgress ?? progress.snapshot(),
      error: { reason: err.reason, message: redactString(err.message) },
    });
    log.warn("download failed", { reason: err.reason, error: err.message });
    throw err;
  } finally {
    progress.stop();
    // Handles of files that did not finish (published ones are already closed; closing twice is harmless).
    for (const task of openTasks) task.verifier.cancel();
    await Promise.all([...openTasks].map((task) => task.fh.close().catch(() => {})));
    await lock?.release();
  }
}

/** Planning calls (listing, revision pinning) retried like parts: network failures only, with backoff. */
async function withRetries<T>(
  fn: () => Promise<T>,
  max: number,
  log: Logger,
  signal: AbortSignal,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await withRetryCount(attempt, fn);
    } catch (e) {
      if (!(e instanceof DownloadError) || e.reason !== "network" || attempt >= max || signal.aborted)
        throw e;
      const wait = backoffMs(attempt, { retryAfterMs: e.retryAfterMs });
      log.info("retrying listing", { attempt: attempt + 1, error: e.message });
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

async function prepareTask(
  layout: Layout,
  tree: DirTree,
  pool: PartFilePool,
  file: RemoteFile,
  commit: string | undefined,
  tune: TransferTuning,
  fresh: boolean,
  progress: ReturnType<typeof createProgress>,
): Promise<FileTask> {
  const paths = layout.files(file, commit);
  await tree.dir(dirname(paths.part));
  await tree.dir(dirname(paths.lock));
  await touchNoFollow(paths.lock);
  // Servers without ranges get a single part (restarted from 0 on retry).
  const partSize = file.acceptRanges === false ? Math.max(1, file.size) : tune.partSize;
  if (fresh) {
    await rm(paths.journal, { force: true });
    await rm(paths.part, { force: true });
  }
  const journal = await openJournal(
    paths.journal,
    { size: file.size, partSize, etag: file.etag },
    tree.check,
  );
  if (!journal.resumed) await rm(paths.part, { force: true });
  // The descriptor is opened only while the file is written, read or synced (see part-file.ts).
  const fh = await pool.create(paths.part, file.size, journal.resumed);
  const verifier = createVerifier(file, fh, paths.part, { hash: tune.verify });
  for (const i of journal.done) {
    const start = i * partSize;
    const end = Math.min(file.size, start + partSize);
    verifier.rangeDone(start, end);
    progress.addResumed(end - start);
  }
  return { file, fh, journal, verifier, partSize };
}

async function publishFile(
  layout: Layout,
  tree: DirTree,
  task: FileTask,
  commit: string | undefined,
  t: ModelTarget,
  fsync: boolean,
) {
  const paths = layout.files(task.file, commit);
  try {
    await task.verifier.finish();
    if (fsync) await task.fh.datasync();
  } catch (e) {
    await task.fh.close().catch(() => {});
    await rm(paths.part, { force: true });
    await task.journal.remove();
    throw e;
  }
  await task.fh.close();
  // The root must still be the directory we opened and no level down to the files a link.
  await tree.check(paths.part);
  const st = await lstat(paths.part);
  if (st.size !== task.file.size) {
    await rm(paths.part, { force: true });
    await task.journal.remove();
    throw new DownloadError(
      "verification",
      `${task.file.path}: size ${st.size} differs from the listed ${task.file.size}`,
    );
  }
  await tree.dir(dirname(paths.final));
  await renameIn(tree, paths.part, paths.final);
  await task.journal.remove();
  // AIBrix metadata: the ETag as the source gives it; HF keeps huggingface_hub's three-line format.
  const meta =
    t.uri.scheme === "hf"
      ? `${commit ?? ""}\n${task.file.etag ?? ""}\n${Date.now() / 1000}\n`
      : (task.file.etag ?? `${task.file.size}`);
  await writeAtomic(tree, paths.metadata, meta);
  if (paths.link) await linkSnapshot(tree, paths.final, paths.link);
}

async function isPublished(final: string, metadata: string, f: RemoteFile): Promise<boolean> {
  try {
    const [st, meta] = await Promise.all([
      lstat(final),
      readFile(metadata, { encoding: "utf8", flag: READ }),
    ]);
    if (!st.isFile() || st.size !== f.size) return false;
    const lines = meta.split("\n");
    const etag = lines.length >= 3 ? lines[1] : meta;
    return (f.etag ?? `${f.size}`) === etag;
  } catch {
    return false;
  }
}

/** Bytes already allocated to a partial file (it is sparse until written). */
async function allocated(path: string): Promise<number> {
  try {
    const s = await lstat(path);
    return s.isFile() ? Math.min(s.size, s.blocks * 512) : 0;
  } catch {
    return 0;
  }
}

async function relist(
  source: Source,
  uri: ParsedUri,
  old: RemoteFile,
  signal: AbortSignal,
): Promise<RemoteFile> {
  for await (const f of source.list(uri, signal)) if (f.path === old.path) return f;
  throw new DownloadError("not_found", `${old.path} disappeared from ${uri.raw} during the download`);
}

async function linkSnapshot(tree: DirTree, blob: string, link: string): Promise<void> {
  await tree.dir(dirname(link));
  const target = relative(dirname(link), blob);
  const tmp = `${link}.${randomBytes(4).toString("hex")}.tmp`;
  await symlink(target, tmp);
  await renameIn(tree, tmp, link);
}

const forbidden = (message: string) => new DownloadError("forbidden", message);
/** Read-only open that refuses a link at the final component. */
const READ = constants.O_RDONLY | O_NOFOLLOW;

/** Create `path` empty if absent, never through a link. */
async function touchNoFollow(path: string): Promise<void> {
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | O_NOFOLLOW, 0o644).catch((e) => {
    throw (e as NodeJS.ErrnoException).code === "ELOOP" ? forbidden(`${path} is a symbolic link`) : e;
  });
  await fh.close();
}

/** rename() in `tree`; when it fails, a level that became a link (a swap on the volume) is the error named. */
async function renameIn(tree: DirTree, from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (e) {
    await tree.check(from);
    await tree.check(to);
    throw e;
  }
}

/** Write `data` to `path` atomically in `tree`: a level that became a link is the error named. */
const writeAtomic = (tree: DirTree, path: string, data: string) =>
  writeFileAtomic(path, data, { mode: 0o644, dir: (d) => tree.dir(d), explain: () => tree.check(path) });

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r").catch(() => null);
  if (!fh) return;
  await fh.sync().catch(() => {});
  await fh.close();
}

async function readMarker(
  layout: Layout,
  tree: DirTree,
): Promise<{ files: number; bytes: number; path: string; commit?: string } | null> {
  await tree.check(layout.marker);
  try {
    const m = JSON.parse(await readFile(layout.marker, { encoding: "utf8", flag: READ })) as {
      files: number;
      bytes: number;
      path: string;
      commit?: string;
    };
    return { files: m.files, bytes: m.bytes, path: m.path ?? layout.modelPath(), commit: m.commit };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------------
// FetchToDir: the entry point of LoRA artifact and lifecycle weight downloads. `dest` appears (by one rename) only complete and verified;
// work happens in a hidden sibling `.<name>.partial` (same filesystem), so a rerun resumes it.

export interface FetchToDirOptions {
  /** Sources, credentials and policy (the Config). */
  settings: SourceSettings;
  /** The download settings (Config.downloader.tuning): every download path runs with them. */
  tuning: Partial<TransferTuning>;
  log?: Logger;
}

export function makeFetchToDir(opts: FetchToDirOptions): FetchToDir {
  const settings = opts.settings;
  return async (req) => {
    const parent = dirname(req.dest);
    const name = basename(req.dest);
    const staging = join(parent, `.${name}.partial`);
    const marker = (dir: string) =>
      join(dir, ".cache", sourceName(parseUri(req.uri)), "download", ".complete.json");
    // An existing dest is reused only when it is a real directory holding the downloader's marker.
    const reuse = async () => {
      const st = await lstat(req.dest).catch(() => null);
      if (!st) return null;
      if (!st.isDirectory())
        throw forbidden(
          `${req.dest} is a symbolic link or not a directory; it is never followed or replaced`,
        );
      const tree = await openTree(parent, req.dest, { create: false, fail: forbidden });
      try {
        const file = await tree.check(marker(req.dest));
        const m = JSON.parse(await readFile(file, { encoding: "utf8", flag: READ })) as {
          files: number;
          bytes: number;
        };
        return { path: req.dest, files: m.files, bytes: m.bytes };
      } catch {
        return null;
      }
    };
    const parsed = parseUri(req.uri); // bad URIs fail before anything touches the disk
    if (parsed.scheme === "local" && req.local === "in-place")
      return useInPlace(parsed, settings, req.credentials, req.signal);
    const before = await reuse();
    if (before) return before;
    await openTree(parent, parent, { fail: forbidden }); // creates the adapters dir when missing
    const lock = await acquireLock(join(parent, `.${name}.lock`), { signal: req.signal });
    try {
      const again = await reuse();
      if (again) return again;
      if (await lstat(req.dest).catch(() => null))
        throw new DownloadError(
          "busy",
          `${req.dest} exists but was not written by the downloader; remove it first`,
        );
      const r = await downloadModel({
        uri: req.uri,
        localDir: parent,
        root: staging,
        settings,
        credentials: req.credentials,
        tuning: opts.tuning,
        signal: req.signal,
        log: opts.log,
        lock: false,
      });
      // The staging dir must still be the real directory the download wrote (no link swapped in).
      await openTree(parent, staging, { create: false, fail: forbidden });
      await rename(staging, req.dest);
      await fsyncDir(parent);
      return { path: req.dest, files: r.files, bytes: r.bytes };
    } finally {
      await lock.release(); // removes the lock file only if it is still ours
    }
  };
}

/** A local source used where it is: nothing is copied; the listing proves it exists and counts what is there. */
export async function useInPlace(
  uri: ParsedUri,
  settings: SourceSettings,
  credentials: Credentials | undefined,
  signal: AbortSignal,
): Promise<FetchToDirResult> {
  if (uri.scheme !== "local")
    throw new DownloadError(
      "bad_uri",
      `'${uri.raw}' is not a local path; only local paths can be used in place`,
    );
  const source = createSource(uri, settings, credentials);
  let files = 0;
  let bytes = 0;
  for await (const f of source.list(uri, signal)) {
    files++;
    bytes += f.size;
  }
  return { path: uri.path, files, bytes };
}

export { fmtBytes };
