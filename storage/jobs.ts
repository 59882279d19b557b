// Model-download jobs, the service behind /v1/model/*: start (or join the download already running for
// that model root), list, status, delete and stop. Jobs run in the background; their outcome is on disk
// (storage/status.ts), or kept here when it never got there. AIBrix semantics:
//   start   a repeated call returns the current status (never a second download); a source that does not
//           exist is 404 at once (listed first); the target must be writable and have room;
//   list    read from disk (survives restarts; right `source`, B12; an empty directory is not downloaded, B11);
//   status  card + progress {phase, files_done, ..., rate, eta} + error;
//   delete  refused while downloading or while an engine serves it.
// Errors are AppErrors in AIBrix's ErrorResponse form (errors.ts), ready to render.
import { rm } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import type { Config } from "../config.ts";
import type { EngineAdapter } from "../engines/types.ts";
import { AppError, errorMessage, reshaped } from "../errors.ts";
import { modelCards } from "../lib/model-list.ts";
import type { Logger } from "../log.ts";
import { redactString, redactUrlCredentials, withSecretScope } from "../redact.ts";
import { checkLocalDir, checkModelRoot } from "../validate/roots.ts";
import { downloadModel, type ModelTarget, resolveTarget, useInPlace } from "./download.ts";
import { asDownloadError, DownloadError, Shutdown } from "./errors.ts";
import { type ExtraConfig, extraCredentials } from "./extra-config.ts";
import { aibrixLayout, hfCacheLayout, type Layout } from "./layout.ts";
import { probeSource } from "./plan.ts";
import { checkWritableTarget } from "./preflight.ts";
import { progressGate } from "./progress.ts";
import { createSource } from "./sources/index.ts";
import {
  exists,
  listModels,
  type ModelStatus,
  type ModelStatusCard,
  modelStatus,
  readStatusRecord,
  type ResumeInfo,
} from "./status.ts";
import type { Credentials, DownloadProgress, Source } from "./types.ts";
import { refuseBucketRoot } from "./uri.ts";

export interface DownloadRequest {
  model_uri: string;
  local_dir?: string | null;
  model_name?: string | null;
  download_extra_config?: ExtraConfig | null;
}

type ModelCard = ModelStatusCard;

export interface ModelStatusBody extends ModelCard {
  model_path?: string;
  progress: DownloadProgress | null;
  error: { reason: string; message: string } | null;
}

export interface DownloadJobs {
  /** Start a download, or answer the status of the one running / finished for that model root. */
  start(req: DownloadRequest, signal: AbortSignal): Promise<ModelCard>;
  list(localDir: string | undefined): Promise<{ object: "list"; data: ModelCard[] }>;
  status(name: string, localDir: string | undefined): Promise<ModelStatusBody>;
  delete(name: string, localDir: string | undefined): Promise<{ model_name: string; status: "deleted" }>;
  /** Interrupt the running jobs (their status says "interrupted" and how they resume) and wait for them. */
  stop(): Promise<void>;
}

// Rendered as AIBrix's ErrorResponse (errors.ts: the type from the table, the message
// redacted: it can quote a signed source URI).
function toHttp(e: unknown, uri?: string): AppError {
  if (e instanceof DownloadError) {
    if (e.reason === "not_found" && uri)
      return reshaped(e, "openai", `Model not found at URI: ${uri}\nDetails: ${e.message}`);
    if (e.reason === "network")
      return new AppError(
        e.code,
        /service unavailable|timeout/i.test(e.message)
          ? e.message
          : `${e.message} (service unavailable, retry later)`,
        { status: /timeout/i.test(e.message) ? 504 : 503, cause: e, form: "openai" },
      );
    return reshaped(e, "openai");
  }
  return e instanceof AppError ? e : new AppError("internal", (e as Error).message, { form: "openai" });
}

interface Job {
  target: ModelTarget;
  progress: DownloadProgress | null;
  done: Promise<unknown>;
  ac: AbortController;
}

export function createDownloadJobs(
  config: Config,
  deps: {
    log: Logger;
    engine?: EngineAdapter;
    /** Local paths other parts of the sidecar serve from (engines it launched); deleting under them is refused. */
    pathsInUse?: () => Iterable<string>;
  },
): DownloadJobs {
  const { log } = deps;
  const jobs = new Map<string, Job>();
  /** Failures of jobs that left no status file (e.g. the directory could not be created), by model root. */
  const failures = new Map<
    string,
    {
      name: string;
      localDir: string;
      card: ReturnType<typeof card>;
      error: { reason: string; message: string };
    }
  >();
  /** Keep a failure that has no status file to tell it; the error as a DownloadError. */
  const keepFailure = (target: ModelTarget, localDir: string, e: unknown) => {
    const err = asDownloadError(e);
    const error = { reason: err.reason, message: redactString(err.message) };
    failures.set(target.layout.root, {
      name: target.modelName,
      localDir,
      card: card(target, "failed"),
      error,
    });
    return err;
  };
  // The pre-download listing: a missing or refusing source answers in milliseconds; one still listing after
  // this long is accepted (the job's own listing decides) so the request answers at once.
  const probeMs = Math.min(3000, Math.floor(config.requestTimeoutMs / 2));

  const localDirOf = (v: string | null | undefined): string => {
    const d = v?.trim() || config.downloader.localDir;
    if (!isAbsolute(d) || d.split("/").includes(".."))
      throw new AppError(
        "invalid_argument",
        `Argument \`local_dir\` must be an absolute path without '..' (got '${d}')`,
      );
    return d;
  };

  const card = (t: { modelName: string; layout: Layout; source: string }, status: ModelStatus) => ({
    model_name: t.modelName,
    model_root_path: t.layout.root,
    source: t.source,
    model_status: status,
  });

  async function start(body: DownloadRequest, signal: AbortSignal): Promise<ModelCard> {
    const extra = body.download_extra_config ?? {};
    const localDir = localDirOf(body.local_dir);
    let target: ModelTarget;
    let source: Source;
    const creds: Credentials = extraCredentials(extra);
    try {
      target = resolveTarget({
        uri: body.model_uri,
        localDir,
        modelName: body.model_name ?? undefined,
        revision: extra.hf_revision,
        layout: config.downloader.layout,
      });
      refuseBucketRoot(target.uri, extra.allow_bucket_root);
      // Missing credentials (422) and AIRUNTIME_ALLOWED_SOURCES (403) fail now, not as a failed job later.
      source = createSource(target.uri, config, creds);
    } catch (e) {
      throw toHttp(e);
    }
    if (extra.in_place) {
      // Used where it is, so it must be where downloads may be: inside the download roots (symlinks resolved).
      if (target.uri.scheme === "local")
        await checkLocalDir(target.uri.path, config.downloader.roots, "in_place model_uri");
      try {
        const r = await useInPlace(target.uri, config, creds, signal);
        return { ...card(target, "downloaded"), model_root_path: r.path };
      } catch (e) {
        throw toHttp(e);
      }
    }
    await checkLocalDir(localDir, config.downloader.roots);
    const root = target.layout.root;
    // (A finished model is answered as such even where nothing can be written any more.)
    const finished = await exists(target.layout.marker);
    if (!jobs.has(root) && !finished) await preflight(target, localDir);
    await checkModelRoot(localDir, root);
    const force = extra.force_download ?? config.downloader.forceDownload;
    if (jobs.has(root)) return card(target, "downloading");
    const current = await modelStatus(target.layout);
    if (current.status === "downloading" || (current.status === "downloaded" && !force))
      return card(target, current.status);
    // AIBrix answers 404 at once for a source that does not exist: list it before accepting the job
    // (a missing bucket or repo is 404, an unreachable one 503/504 with retry words).
    try {
      if ((await probeSource(source, target.uri, probeMs, signal)) === "slow")
        log.info("source slow to list; download accepted, its status tells the outcome", {
          model: target.modelName,
        });
    } catch (e) {
      throw toHttp(e, body.model_uri);
    }
    const shownUri = redactUrlCredentials(body.model_uri);
    startJob(target, {
      localDir,
      credentials: creds,
      force,
      resume: {
        model_uri: shownUri,
        local_dir: localDir,
        model_name: target.modelName,
        ...(extra.hf_revision ? { revision: extra.hf_revision } : {}),
        ...(extra.allow_file_suffix ? { allow_file_suffix: extra.allow_file_suffix } : {}),
        ...(extra.num_threads ? { num_threads: extra.num_threads } : {}),
        ...(extra.part_chunksize ? { part_chunksize: extra.part_chunksize } : {}),
        needs_credentials: Object.keys(creds).length > 0 || shownUri !== body.model_uri,
      },
    });
    return card(target, "downloading");
  }

  /** The target must be writable and have room before a job is accepted: a failure is 500 local_io or
   *  507 no_space at once (and /v1/model/status tells it), never a job whose failure has nowhere to go. */
  async function preflight(target: ModelTarget, localDir: string): Promise<void> {
    try {
      await checkWritableTarget(target.layout.root);
    } catch (e) {
      throw toHttp(keepFailure(target, localDir, e));
    }
  }

  /** Run a download in the background; its outcome is on disk, or in `failures` when it never got there. */
  function startJob(
    target: ModelTarget,
    o: { localDir: string; credentials: Credentials; force: boolean; resume: ResumeInfo },
  ): void {
    const root = target.layout.root;
    const ac = new AbortController();
    const job: Job = { target, progress: null, ac, done: Promise.resolve() };
    jobs.set(root, job);
    failures.delete(root);
    const logGate = progressGate(); // a progress line every 10 s or 5 %
    // The job outlives the request: its credentials are held for redaction until it ends.
    job.done = withSecretScope(() =>
      downloadModel({
        uri: target.uri,
        localDir: o.localDir,
        modelName: target.modelName,
        layout: config.downloader.layout,
        allowSuffix: o.resume.allow_file_suffix ?? config.downloader.allowFileSuffix,
        force: o.force,
        checkExisting: config.downloader.checkFileExist,
        settings: config,
        credentials: o.credentials,
        tuning: {
          ...config.downloader.tuning,
          ...(o.resume.num_threads ? { connections: o.resume.num_threads } : {}),
          ...(o.resume.part_chunksize ? { partSize: o.resume.part_chunksize } : {}),
        },
        signal: ac.signal,
        log: log.child({ component: "download" }),
        onProgress: (p) => {
          job.progress = p;
          if (logGate(p)) log.info("download progress", { model: target.modelName, ...p });
        },
        resume: o.resume,
      }),
    )
      .catch(async (e: unknown) => {
        // Recorded on disk as status "failed" with its reason (B14); a failure that came before the status
        // file could be written (or that could not write it) is kept here so /v1/model/status still tells it.
        const rec = await readStatusRecord(target.layout);
        if (rec?.status !== "failed" && rec?.status !== "interrupted") keepFailure(target, o.localDir, e);
      })
      .finally(() => jobs.delete(root));
  }

  /** Downloads a shutdown interrupted start again, except those that need the request's credentials. */
  async function resumeInterrupted(): Promise<void> {
    for (const dir of new Set(config.downloader.roots)) {
      const models = await listModels(dir).catch(() => []);
      for (const m of models) {
        const r = m.record?.resume;
        if (m.model_status !== "interrupted" || !r || r.needs_credentials || stopped) continue;
        try {
          const target = resolveTarget({
            uri: r.model_uri,
            localDir: r.local_dir,
            modelName: r.model_name,
            revision: r.revision,
            layout: config.downloader.layout,
          });
          if (target.layout.root !== m.model_root_path || jobs.has(target.layout.root)) continue;
          createSource(target.uri, config, {}); // the allow-list may have changed since
          log.info("resuming interrupted download", { model: r.model_name, uri: r.model_uri });
          startJob(target, { localDir: r.local_dir, credentials: {}, force: false, resume: r });
        } catch (e) {
          log.warn("cannot resume interrupted download", { model: r.model_name, error: errorMessage(e) });
        }
      }
    }
  }
  let stopped = false;
  const resuming = resumeInterrupted().catch((e) =>
    log.warn("resuming interrupted downloads failed", { error: errorMessage(e) }),
  );

  async function list(localDirArg: string | undefined) {
    const models = await listModels(await checkLocalDir(localDirOf(localDirArg), config.downloader.roots));
    return {
      object: "list" as const,
      data: models.map(({ record: _, ...card }) => ({
        ...card,
        model_status: jobs.has(card.model_root_path) ? "downloading" : card.model_status,
      })),
    };
  }

  /** Find a model by name: AIBrix layout first, then the hf-cache repo folder. */
  async function find(name: string, localDir: string) {
    if (!name || name.startsWith("/") || name.split("/").some((s) => s === ".." || s === "."))
      throw new AppError("invalid_argument", `invalid model_name '${name}'`);
    const models = await listModels(localDir);
    const m = models.find((x) => x.model_name === name);
    if (!m) throw new AppError("model_not_found", `Model not found: ${name}`);
    const layout = m.model_root_path.includes("/models--")
      ? hfCacheLayout(localDir, name)
      : aibrixLayout(join(localDir, name), m.source);
    return { m, layout };
  }

  async function status(name: string, localDirArg: string | undefined): Promise<ModelStatusBody> {
    const localDir = await checkLocalDir(localDirOf(localDirArg), config.downloader.roots);
    const found = await find(name, localDir).catch((e: unknown) => {
      const f = [...failures.values()].find((x) => x.name === name && x.localDir === localDir);
      if (!f) throw e;
      return f;
    });
    if (!("m" in found)) return { ...found.card, progress: null, error: found.error };
    const { m, layout } = found;
    await checkModelRoot(localDir, layout.root);
    const job = jobs.get(layout.root);
    const { record: rec, ...card } = m;
    return {
      ...card,
      model_status: job ? "downloading" : m.model_status,
      model_path: rec?.model_path ?? (m.model_status === "downloaded" ? layout.modelPath() : undefined),
      progress: job?.progress ?? rec?.progress ?? null,
      error:
        !job && (m.model_status === "failed" || m.model_status === "interrupted")
          ? (rec?.error ?? null)
          : null,
    };
  }

  async function remove(name: string, localDirArg: string | undefined) {
    const localDir = localDirOf(localDirArg);
    await checkLocalDir(localDir, config.downloader.roots);
    const { m, layout } = await find(name, localDir);
    await checkModelRoot(localDir, layout.root);
    if (jobs.has(layout.root) || m.model_status === "downloading")
      throw new AppError("model_busy", `model ${name} is downloading; delete it when the download has ended`);
    if (deps.engine && (await engineUses(deps.engine, name, layout)))
      throw new AppError("model_busy", `model ${name} is in use by the inference engine`);
    for (const p of deps.pathsInUse?.() ?? [])
      if (p === layout.root || p.startsWith(`${layout.root}/`))
        throw new AppError("model_busy", `model ${name} is in use by an engine this sidecar launched`);
    await rm(layout.root, { recursive: true, force: true });
    log.info("model deleted", { model: name, root: layout.root });
    return { model_name: name, status: "deleted" as const };
  }

  return {
    start,
    list,
    status,
    delete: remove,
    async stop() {
      stopped = true;
      await resuming;
      // Their status says "interrupted" and how they resume (storage/download.ts).
      for (const j of jobs.values()) j.ac.abort(new Shutdown());
      await Promise.all([...jobs.values()].map((j) => j.done));
    },
  };
}

/** Whether the engine's model list names this model or serves it from under its directory. */
async function engineUses(engine: EngineAdapter, name: string, layout: Layout): Promise<boolean> {
  try {
    const list = await engine.listModels({ signal: AbortSignal.timeout(3000) });
    return modelCards(list).some(
      (d) =>
        d.id === name ||
        d.root === name ||
        (d.root ?? "").startsWith(layout.root) ||
        d.id.startsWith(layout.root),
    );
  } catch {
    return false; // engine down: it cannot be serving the files
  }
}
