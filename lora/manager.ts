// The LoRA manager: load/unload adapters through the engine adapter, one operation per adapter at a time
// (identical concurrent loads join: one download, one engine call, every caller gets the outcome; AIBrix
// bug B10), downloads published only when complete, an adapter registry in memory and on disk, and
// self-healing: when the engine restarts, what the sidecar had loaded is loaded again.
import { stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { AppError, errorMessage, unsupported } from "../errors.ts";
import type { Logger } from "../log.ts";
import { redactUrlCredentials, registerSecret } from "../redact.ts";
import { asDownloadError, DownloadError } from "../storage/errors.ts";
import type { FetchToDir } from "../storage/types.ts";
import { enginePathAllowed } from "../security/sources.ts";
import { parseUri } from "../storage/uri.ts";
import { checkAbsolutePath, checkName, childPath, isInside, shown } from "../validate/names.ts";
import { keyedSerial } from "../lib/keyed-serial.ts";
import { removeDownloaded } from "./cleanup.ts";
import { resolveCredentials } from "./credentials.ts";
import type { AdapterRecord, AdapterStore } from "./store.ts";
import type { CallCtx, EngineAdapter } from "../engines/types.ts";

/** Schemes accepted in artifact_url (AIBrix's list plus gs://, hf:// and http(s)://; B5). */
export const REMOTE_SCHEMES = ["s3", "gs", "gcs", "tos", "hf", "huggingface", "http", "https"] as const;

const AIBRIX_ADAPTERS_DIR = "/tmp/aibrix/adapters";

export type LoadRequest =
  | { mode: "direct"; name: string; lora_path: string; authorization?: string }
  | {
      mode: "delegation";
      name: string;
      artifact_url: string;
      credentials?: Record<string, string> | null;
      credentials_secret?: string | null;
      additional_config?: Record<string, string> | null;
      local_dir?: string | null;
      authorization?: string;
    };

export interface LoadOutcome {
  name: string;
  path: string;
  source: string;
  /** The engine already had it (no engine call, or its "already loaded" answer). */
  already: boolean;
  engineMessage: string;
}

export interface UnloadOutcome {
  engineMessage: string;
  removedLocal: boolean;
}

/** Hooks for the sidecar's own metrics (metrics/own.ts); all optional. */
export interface LoraMetrics {
  load(engine: string, result: string, seconds: number): void;
  unload(engine: string, result: string): void;
  loaded(count: number): void;
}

export interface LoraManagerDeps {
  engine: EngineAdapter;
  store: AdapterStore;
  fetchToDir?: FetchToDir;
  adaptersDir: string;
  credentialsDir: string;
  /** Deadline of each engine call (below the controller's 30 s). */
  engineTimeoutMs: number;
  /** How long a request waits for its (possibly joined) operation before answering 503 "still running". */
  waitMs: number;
  log: Logger;
  metrics?: LoraMetrics;
  /** AIRUNTIME_ALLOWED_SOURCES (remote sources are checked by the storage layer, local paths here). */
  allowedSources?: readonly string[];
  /** The engine's adapter capacity when known (reported as max_lora). */
  maxLoras?: number;
}

export interface LoraManager {
  load(req: LoadRequest): Promise<LoadOutcome>;
  unload(name: string, opts: { cleanupLocal: boolean; authorization?: string }): Promise<UnloadOutcome>;
  list(
    authorization?: string,
  ): Promise<{ adapters: Array<AdapterRecord & { in_engine: boolean | null }>; engine: string[] | null }>;
  /** Load again what the registry holds and the engine lacks. `engineRestarted` when health went down and up. */
  reconcile(reason: string, engineRestarted?: boolean): Promise<void>;
  /** The registry as it is, without asking the engine. */
  registry(): AdapterRecord[];
  /** Adapter names the sidecar has loaded. */
  loadedNames(): string[];
  /** For aibrix:lora_requests_info on engines that do not report it: the adapters loaded through us. */
  loraInfo(): { maxLora?: number; running: string[]; waiting: string[] };
  stop(): void;
}

/** The adapter's source as recorded and listed: credentials inside a URL are never kept (redact.ts). */
const sourceOf = (r: LoadRequest) => redactUrlCredentials(r.mode === "direct" ? r.lora_path : r.artifact_url);
const schemeOf = (url: string) => /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();

export function createLoraManager(d: LoraManagerDeps): LoraManager {
  const serial = keyedSerial();
  const ac = new AbortController();
  const log = d.log;
  const kind = d.engine.kind;
  // Bumped whenever the engine is seen restarting; a record loaded in an older epoch must be reloaded.
  let epoch = 0;
  // `at` is a sequence number shared with list calls: "loaded after the engine was listed".
  const loadedEpoch = new Map<string, { epoch: number; at: number }>();
  let seq = 0;
  // The bearer each adapter was loaded with (engines started with --api-key need it for self-healing).
  // Memory only: secrets never go to the registry file.
  const bearers = new Map<string, string>();
  const anyBearer = () => bearers.values().next().value;

  const engineCtx = (authorization?: string): CallCtx => ({
    signal: AbortSignal.any([ac.signal, AbortSignal.timeout(d.engineTimeoutMs)]),
    authorization,
  });
  const countLoaded = () => d.metrics?.loaded(d.store.all().filter((r) => r.state === "loaded").length);

  const requireLoad = () => {
    const f = d.engine.loadLora;
    if (!f)
      throw unsupported(
        `engine '${kind}' does not support the capability 'lora_load' (loading LoRA adapters at runtime)`,
      );
    return f;
  };

  /** Whether the engine still has `name` (asks it when it can list adapters; else trusts the epoch). */
  async function engineHas(name: string, authorization?: string): Promise<boolean> {
    if (d.engine.listLoras) {
      try {
        return (await d.engine.listLoras(engineCtx(authorization))).includes(name);
      } catch {
        return false;
      }
    }
    return loadedEpoch.get(name)?.epoch === epoch;
  }

  /** A path the engine reads as given passes AIRUNTIME_ALLOWED_SOURCES (symlinks resolved). */
  async function checkEnginePath(p: string): Promise<void> {
    if (!(await enginePathAllowed(p, d.allowedSources)))
      throw new AppError(
        "source_forbidden",
        `source '${shown(p)}' is not allowed by AIRUNTIME_ALLOWED_SOURCES (${d.allowedSources?.join(", ")})`,
      );
  }

  async function resolvePath(req: LoadRequest, existing: AdapterRecord | undefined) {
    if (req.mode === "direct") {
      await checkEnginePath(req.lora_path);
      return { path: req.lora_path, downloaded: false };
    }
    const url = req.artifact_url;
    if (url.startsWith("/")) {
      // Absolute local paths are used in place, never copied (AIBrix bug B5).
      const p = checkAbsolutePath(url, "artifact_url");
      await checkEnginePath(p);
      const st = await stat(p).catch(() => null);
      if (!st)
        throw new AppError(
          "artifact_not_found",
          `Artifact not found: local path '${shown(p)}' does not exist`,
        );
      return { path: p, downloaded: false };
    }
    const scheme = schemeOf(url);
    if (!scheme || !(REMOTE_SCHEMES as readonly string[]).includes(scheme))
      throw new AppError(
        "unsupported_scheme",
        `Unsupported URL scheme: ${scheme ?? "(none)"} in artifact_url '${shown(url)}'. Supported: ${REMOTE_SCHEMES.join(", ")} and absolute paths`,
      );
    let root = d.adaptersDir;
    // AIBrix's default value means "the adapters directory", wherever that is configured here.
    if (req.local_dir && resolve(req.local_dir) !== AIBRIX_ADAPTERS_DIR) {
      // AIBrix ignores local_dir (B7); we honour it, but only inside the adapters directory.
      const ld = resolve(req.local_dir);
      if (
        !isAbsolute(req.local_dir) ||
        (ld !== resolve(d.adaptersDir) && !(await isInside(d.adaptersDir, ld)))
      )
        throw new AppError(
          "invalid_local_dir",
          `local_dir '${shown(req.local_dir)}' must be inside ${d.adaptersDir}`,
        );
      root = ld;
    }
    parseUri(url); // a malformed URI fails here, before anything touches the disk
    const dest = await childPath(root, req.name, "lora_name");
    if (
      existing?.downloaded &&
      existing.source === redactUrlCredentials(url) &&
      (await stat(existing.path).catch(() => null))
    )
      return { path: existing.path, downloaded: true };
    if (!d.fetchToDir)
      throw new AppError("unsupported", `artifact downloads are not available in this build`);
    const credentials = await resolveCredentials(req, d.credentialsDir);
    if (existing?.downloaded && existing.source !== redactUrlCredentials(url))
      await removeDownloaded(d.adaptersDir, existing);
    const started = Date.now();
    log.info("downloading adapter", { lora_name: req.name, artifact_url: url, dest });
    try {
      const res = await d.fetchToDir({ uri: url, dest, credentials, signal: ac.signal });
      log.info("adapter downloaded", {
        lora_name: req.name,
        path: res.path,
        files: res.files,
        bytes: res.bytes,
        seconds: (Date.now() - started) / 1000,
      });
      return { path: res.path, downloaded: true };
    } catch (e) {
      throw downloadError(e, url);
    }
  }

  async function doLoad(req: LoadRequest): Promise<LoadOutcome> {
    const load = requireLoad();
    const source = sourceOf(req);
    const existing = d.store.get(req.name);
    const bearer =
      (req.mode === "delegation" && req.additional_config?.["api-key"]
        ? `Bearer ${req.additional_config["api-key"]}`
        : undefined) ?? req.authorization;
    if (bearer) registerSecret(bearer.replace(/^bearer\s+/i, ""));
    if (existing?.state === "loaded" && existing.source === source && (await engineHas(req.name, bearer)))
      return { name: req.name, path: existing.path, source, already: true, engineMessage: "already loaded" };
    if (existing?.state === "loaded" && existing.source !== source && (await engineHas(req.name, bearer)))
      // vLLM and AIBrix refuse a second load of a loaded name (400 "already been loaded") and keep the
      // adapter that is there; replacing it silently could leave the name empty when the new one fails.
      throw new AppError(
        "already_loaded",
        `Failed to load LoRA adapter '${req.name}': The lora adapter '${req.name}' has already been loaded (from '${shown(existing.source)}'). Unload it first to load it from '${shown(source)}'.`,
      );
    const { path, downloaded } = await resolvePath(req, existing);
    if (existing?.state === "loaded" && existing.source !== source && d.engine.unloadLora) {
      // Same name, new source: the engine must drop the old adapter, or it would answer "already loaded".
      await d.engine.unloadLora(req.name, engineCtx(bearer)).catch((e) => {
        if (!(e instanceof AppError && e.status === 404)) throw e;
      });
      log.info("adapter replaced: old one unloaded", { lora_name: req.name, old_source: existing.source });
    }
    const rec: AdapterRecord = {
      name: req.name,
      source,
      mode: req.mode,
      path,
      downloaded,
      state: "downloaded",
      loaded_at: new Date().toISOString(),
      reloads: 0,
    };
    let res: Awaited<ReturnType<typeof load>>;
    try {
      res = await load({ name: req.name, path }, engineCtx(bearer));
    } catch (e) {
      // Keep the downloaded files so a retry does not download again; an adapter that was loaded from
      // this same source stays "loaded" so self-healing keeps trying.
      const keepLoaded = existing?.state === "loaded" && existing.source === source;
      if (downloaded && !keepLoaded) await d.store.put(rec);
      throw e;
    }
    rec.state = "loaded";
    await d.store.put(rec);
    if (bearer) bearers.set(req.name, bearer);
    else bearers.delete(req.name);
    if (existing?.downloaded && existing.path !== path) await removeDownloaded(d.adaptersDir, existing);
    loadedEpoch.set(req.name, { epoch, at: ++seq });
    log.info(res.already ? "adapter was already loaded in the engine" : "adapter loaded", {
      lora_name: req.name,
      path,
      engine: kind,
    });
    return { name: req.name, path, source, already: res.already, engineMessage: res.engineMessage };
  }

  /** Wait for `p` at most waitMs; the operation itself keeps running (a repeated load joins it). */
  function waitBounded<T>(p: Promise<T>, name: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new AppError(
              "still_running",
              `adapter '${name}' is still busy (a download or engine call is in progress): service unavailable, timeout waiting; retry to join it`,
            ),
          ),
        d.waitMs,
      );
    });
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  }

  async function reloadRecord(name: string, why: string, present: Set<string> | null, listedAt: number) {
    const load = d.engine.loadLora;
    const current = d.store.get(name);
    if (!load || !current || current.state !== "loaded") return;
    const last = loadedEpoch.get(name);
    // Loaded (by a request) after the engine was listed: the list cannot show it yet.
    if (last && last.at > listedAt && last.epoch === epoch) return;
    if (present ? present.has(name) : last?.epoch === epoch) return;
    try {
      const r = await load({ name: current.name, path: current.path }, engineCtx(bearers.get(name)));
      loadedEpoch.set(name, { epoch, at: ++seq });
      d.metrics?.load(kind, r.already ? "already" : "reloaded", 0);
      if (r.already) {
        log.info("adapter still loaded in the engine", { lora_name: name, reason: why });
        return;
      }
      const next = { ...current, reloads: current.reloads + 1 };
      await d.store.put(next);
      log.info("adapter reloaded after engine restart", {
        lora_name: name,
        path: current.path,
        reason: why,
        reloads: next.reloads,
      });
    } catch (e) {
      d.metrics?.load(kind, "reload_error", 0);
      log.warn("adapter reload failed; will retry", { lora_name: name, reason: why, error: errorMessage(e) });
    }
  }

  let reconciling: Promise<void> | null = null;

  return {
    async load(req) {
      checkName(req.name, "lora_name");
      const started = performance.now();
      const p = serial.run(req.name, `load:${req.mode}:${sourceOf(req)}`, () => doLoad(req));
      try {
        const out = await waitBounded(p, req.name);
        d.metrics?.load(kind, out.already ? "already" : "success", (performance.now() - started) / 1000);
        countLoaded();
        return out;
      } catch (e) {
        d.metrics?.load(
          kind,
          e instanceof AppError ? String(e.status) : "error",
          (performance.now() - started) / 1000,
        );
        throw e;
      }
    },

    async unload(name, { cleanupLocal, authorization }) {
      checkName(name, "lora_name");
      if (!d.engine.unloadLora) {
        d.metrics?.unload(kind, "501");
        throw unsupported(
          `engine '${kind}' does not support the capability 'lora_unload' (unloading LoRA adapters at runtime)`,
        );
      }
      const unload = d.engine.unloadLora;
      const op = serial.run(name, null, async () => {
        const rec = d.store.get(name);
        let engineError: unknown = null;
        let engineMessage = "";
        try {
          engineMessage = await unload(name, engineCtx(authorization));
        } catch (e) {
          engineError = e;
        }
        const gone = !engineError || (engineError instanceof AppError && engineError.status === 404);
        let removedLocal = false;
        if (gone && rec) {
          // Local files only for adapters the sidecar downloaded into its own directory.
          if (cleanupLocal) removedLocal = await removeDownloaded(d.adaptersDir, rec);
          await d.store.delete(name);
          loadedEpoch.delete(name);
          bearers.delete(name);
          countLoaded();
        }
        d.metrics?.unload(
          kind,
          engineError ? (engineError instanceof AppError ? String(engineError.status) : "error") : "success",
        );
        if (engineError) {
          if (removedLocal && engineError instanceof AppError)
            throw new AppError(engineError.code, `${engineError.message} (local files removed)`, {
              status: engineError.status,
            });
          throw engineError;
        }
        log.info("adapter unloaded", { lora_name: name, removed_local: removedLocal });
        return { engineMessage, removedLocal };
      });
      // An unload queued behind a long download answers "still running" in time; it still runs after it.
      return waitBounded(op, name);
    },

    async list(authorization) {
      let engineNames: string[] | null = null;
      if (d.engine.listLoras) engineNames = await d.engine.listLoras(engineCtx(authorization));
      const adapters = d.store.all().map((r) => ({
        ...r,
        in_engine: engineNames ? engineNames.includes(r.name) : null,
      }));
      return { adapters, engine: engineNames };
    },

    reconcile(reason, engineRestarted = false) {
      if (engineRestarted) epoch++;
      if (reconciling) return reconciling;
      const records = d.store.all().filter((r) => r.state === "loaded");
      if (records.length === 0 || !d.engine.loadLora) return Promise.resolve();
      reconciling = (async () => {
        const listedAt = ++seq;
        let present: Set<string> | null = null;
        if (d.engine.listLoras) {
          try {
            present = new Set(await d.engine.listLoras(engineCtx(anyBearer())));
          } catch {
            return; // engine not answering: the next round tries again
          }
        }
        await Promise.all(
          records.map((r) => serial.run(r.name, null, () => reloadRecord(r.name, reason, present, listedAt))),
        );
        countLoaded();
      })().finally(() => {
        reconciling = null;
      });
      return reconciling;
    },

    registry: () => d.store.all(),

    loraInfo() {
      const running = d.store
        .all()
        .filter((r) => r.state === "loaded")
        .map((r) => r.name);
      // max_lora only when configured (the snapshot prefers the engine's own figure); the sidecar does not
      // see the engine's queue, so no waiting adapters from here.
      return { maxLora: d.maxLoras, running, waiting: [] };
    },

    loadedNames: () =>
      d.store
        .all()
        .filter((r) => r.state === "loaded")
        .map((r) => r.name),

    stop() {
      ac.abort();
    },
  };
}

const RETRY_WORDS =
  /connection refused|connection reset|timeout|no route to host|network is unreachable|temporary failure|service unavailable|bad gateway/i;

/** A failed download as an error the controller can act on: transient ones always carry a retry word. */
function downloadError(e: unknown, url: string): AppError {
  // A local write failure (permissions, read-only volume, a file in the way, a full disk) is this pod's
  // problem, never the source's: 500 local_io / 507 no_space with the path, the uid and the fix, no retry word.
  const local = asLocalFailure(e);
  if (local)
    return new AppError(local.code, `Failed to store ${url}: ${local.message}`, {
      status: local.status,
      cause: e,
    });
  const msg = errorMessage(e);
  let status = e instanceof AppError ? e.status : 502;
  if (!(e instanceof AppError)) {
    const code = (e as NodeJS.ErrnoException)?.code;
    if (code === "ENOENT" || /not found|404/i.test(msg)) status = 404;
    else if (/denied|forbidden|403|401|unauthori/i.test(msg)) status = 403;
  }
  const code = e instanceof AppError ? e.code : "download_internal";
  const prefix =
    status === 404 ? "Artifact not found" : status === 403 ? "Permission denied" : "Failed to download";
  let text = `${prefix}: ${url}: ${msg}`;
  if (status >= 500 && !RETRY_WORDS.test(text))
    text += status === 504 ? " (timeout)" : " (service unavailable)";
  return new AppError(code, text, { status, cause: e });
}

/** The local-storage failure inside `e` (already classified by the downloader, or a raw errno), or null. */
function asLocalFailure(e: unknown): DownloadError | null {
  const d = e instanceof DownloadError ? e : e instanceof AppError ? null : asDownloadError(e);
  return d && (d.reason === "local_io" || d.reason === "no_space") ? d : null;
}
