// Launching engines for ModelClaims: activate (port, intent persisted before any spawn, weights via
// weights.ts), launch, deactivate and restart decisions, over the lifecycle core (state + per-model lock,
// core.ts). Sleep, wake and KV limits live in actions.ts, supervision in supervisor.ts, re-adoption in
// readopt.ts.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage } from "../errors.ts";
import { registerSecret } from "../redact.ts";
import { enginePathAllowed } from "../security/sources.ts";
import type { FetchToDir } from "../storage/types.ts";
import { argProblem, engineArgs, expandCommand, ipcNameFor, redactArgv } from "./command.ts";
import { activateError } from "./errors.ts";
import type { Instance, LifecycleCore } from "./core.ts";
import { writeServedMarker } from "./markers.ts";
import { canBind, pickPort } from "./ports.ts";
import { isOurProcess, signalGroup, spawnGroup, stopGroup } from "./proc.ts";
import { type ClearActivation, clearOfRecord, persistable } from "./secrets.ts";
import type { ClaimRef, EngineConfig } from "./types.ts";
import { nowIso } from "./types.ts";
import { downloadWeights } from "./weights.ts";

export interface LaunchSettings {
  /** Engine stdout/stderr go to <logDir>/<model>.log. */
  logDir: string;
  /** Where remote weights are downloaded: <downloadDir>/<model_name>. */
  downloadDir: string;
  portRange: readonly [number, number];
  /** Engine kind -> command template tokens (see command.ts). */
  templates: Readonly<Record<string, readonly string[]>>;
  /** argv that runs this airuntime binary ({self}). */
  self: readonly string[];
  maxRestarts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  stopGraceMs: number;
  /** The agent's environment, copied to every engine (plus the kvcached variables). */
  env: Record<string, string | undefined>;
  fetchToDir?: FetchToDir;
  /** AIRUNTIME_ALLOWED_SOURCES, for artifact_url values the engine reads as given (paths, repo ids). */
  allowedSources?: readonly string[];
  /** AIBrix cache markers go to <weightCacheDir>/.aibrix/served/<model>.json. */
  weightCacheDir?: string;
}

export interface ActivateRequest {
  model_name: string;
  artifact_url: string;
  engine: string;
  port: number;
  ipc_name?: string | null;
  credentials?: Record<string, string> | null;
  engine_config?: EngineConfig | null;
  claim_ref?: ClaimRef | null;
  additional_config?: Record<string, string> | null;
}

const PORTS_LOCK = "\u0000ports";
const SECRETS_LOST =
  "the activation's secret engine args or artifact_url credentials are kept in memory only and were lost when the sidecar restarted; deactivate and activate the model again";
const SIDECAR_ONLY_ENV = new Set(["AIRUNTIME_API_KEY", "AIRUNTIME_API_KEY_FILE"]);

export class LifecycleManager {
  private readonly portsInFlight = new Set<number>();
  /** Set by the supervisor: called when an engine this process spawned exits. */
  onExit?: () => void;

  constructor(
    private readonly core: LifecycleCore,
    private readonly settings: LaunchSettings,
  ) {}

  get portRange(): readonly [number, number] {
    return this.settings.portRange;
  }

  get stopGraceMs(): number {
    return this.settings.stopGraceMs;
  }

  // ---- activate ------------------------------------------------------------------------------------

  async activate(req: ActivateRequest) {
    const template = Object.hasOwn(this.settings.templates, req.engine)
      ? this.settings.templates[req.engine]
      : undefined;
    if (!template)
      throw activateError(
        "invalid_activation",
        req,
        `engine '${req.engine}' is not supported; expected one of ${Object.keys(this.settings.templates).join(", ")} (set AIRUNTIME_ENGINE_COMMAND_${req.engine.toUpperCase().replace(/[^A-Z0-9]/g, "_")} to add one)`,
      );
    const args = engineArgs(req.engine_config, req.additional_config);
    const problem = argProblem(args);
    if (problem) throw activateError("invalid_activation", req, problem);
    const [lo, hi] = this.settings.portRange;
    if (req.port !== 0 && !(Number.isInteger(req.port) && req.port >= lo && req.port < hi))
      throw activateError(
        "invalid_activation",
        req,
        `port ${req.port} is outside AIRUNTIME_ENGINE_PORT_RANGE [${lo}, ${hi})`,
      );
    for (const v of Object.values(req.credentials ?? {})) registerSecret(v);
    // A path or repo id goes to the engine as is, so it passes the allow-list here (URLs pass it in the
    // downloader).
    if (
      !req.artifact_url.includes("://") &&
      !(await enginePathAllowed(req.artifact_url, this.settings.allowedSources))
    )
      throw activateError(
        "invalid_activation",
        req,
        `artifact_url '${req.artifact_url}' is not allowed by AIRUNTIME_ALLOWED_SOURCES (${this.settings.allowedSources?.join(", ")})`,
      );

    return this.core.withModel(req.model_name, async () => {
      if (this.core.isClosed)
        throw activateError("activation_failed", req, "the lifecycle manager is shutting down");
      const existing = this.core.get(req.model_name);
      if (existing) {
        // Idempotent by model_name, as AIBrix: the running instance is the answer.
        if (existing.rec.phase === "failed")
          throw activateError(
            "activation_failed",
            req,
            `model '${req.model_name}' failed (${existing.rec.last_error ?? "unknown error"}); deactivate it before activating again`,
          );
        if (existing.rec.phase === "stopping")
          throw activateError(
            "activation_failed",
            req,
            `model '${req.model_name}' is stopping; activate it again once it is gone`,
          );
        return this.activateReply(existing);
      }
      // Port choice is serialized across models (and ports being chosen count as taken), so two
      // concurrent activations never get the same port.
      const port = await this.core.withModel(PORTS_LOCK, async () => {
        const taken = new Set(this.core.all().map((i) => i.rec.port));
        for (const p of this.portsInFlight) taken.add(p);
        if (req.port !== 0 && taken.has(req.port))
          throw activateError(
            "invalid_activation",
            req,
            `port ${req.port} is already used by another engine`,
          );
        if (req.port !== 0 && !(await canBind(req.port)))
          throw activateError("invalid_activation", req, `port ${req.port} is not free on this pod`);
        try {
          const p = req.port !== 0 ? req.port : await pickPort(this.settings.portRange, taken);
          this.portsInFlight.add(p);
          return p;
        } catch (e) {
          throw activateError("activation_failed", req, errorMessage(e));
        }
      });
      try {
        return await this.register(req, port);
      } finally {
        this.portsInFlight.delete(port);
      }
    });
  }

  private async register(req: ActivateRequest, port: number) {
    const clear: ClearActivation = {
      artifact_url: req.artifact_url,
      engine_config: req.engine_config ?? null,
      additional_config: req.additional_config ?? null,
    };
    const kept = persistable(clear);
    const inst: Instance = {
      rec: {
        model_name: req.model_name,
        engine: req.engine,
        artifact_url: kept.artifact_url,
        port,
        ipc_name: ipcNameFor(req.model_name, req.ipc_name),
        pid: null,
        pid_start_time: null,
        engine_config: kept.engine_config,
        additional_config: kept.additional_config,
        claim_ref: req.claim_ref ?? null,
        phase: "booting",
        restart_count: 0,
        last_error: null,
        last_transition: nowIso(),
        next_restart_at: null,
        model_path: null,
      },
      credentials: req.credentials ?? undefined,
      clear,
      hbmPeak: 0,
    };
    this.core.add(inst);
    // The intent is on disk before anything is spawned or downloaded.
    try {
      await this.core.persist();
    } catch (e) {
      this.core.remove(req.model_name);
      throw activateError(
        "activation_failed",
        req,
        `cannot write the engine registry ${this.core.registry.path} (set AIBRIX_ENGINE_REGISTRY_PATH to a writable file): ${errorMessage(e)}`,
      );
    }
    this.core.log.info("activating model", {
      model: req.model_name,
      engine: req.engine,
      port,
      artifact_url: inst.rec.artifact_url,
    });
    if (!req.artifact_url.includes("://")) {
      inst.rec.model_path = req.artifact_url;
      const err = await this.launch(inst);
      if (err) throw activateError("activation_failed", req, err);
    } else {
      this.startDownload(inst);
    }
    return this.activateReply(inst);
  }

  private activateReply(inst: Instance) {
    return {
      status: "success" as const,
      model_name: inst.rec.model_name,
      port: inst.rec.port,
      ipc_name: inst.rec.ipc_name,
      message: null,
    };
  }

  /** Weights first (weights.ts): no lock is held while they download. */
  private startDownload(inst: Instance): void {
    downloadWeights(
      {
        core: this.core,
        fetchToDir: this.settings.fetchToDir,
        downloadDir: this.settings.downloadDir,
        launch: (i) => this.launch(i),
      },
      inst,
    );
  }

  /**
   * Start (or restart) the engine (caller holds the model lock): weights not resolved yet (a record from an
   * older registry, or a crash mid-download) go through the downloader first.
   */
  async start(inst: Instance): Promise<void> {
    const rec = inst.rec;
    if (rec.model_path == null && rec.artifact_url.includes("://")) {
      this.core.setPhase(inst, "booting");
      rec.next_restart_at = null;
      await this.core.persist();
      this.startDownload(inst);
      return;
    }
    rec.model_path ??= rec.artifact_url;
    await this.launch(inst);
  }

  /** Spawn the engine (caller holds the model lock). Returns an error message when it cannot start. */
  async launch(inst: Instance): Promise<string | null> {
    const rec = inst.rec;
    const template = Object.hasOwn(this.settings.templates, rec.engine)
      ? this.settings.templates[rec.engine]
      : undefined;
    if (!template || rec.model_path == null) {
      this.core.setPhase(inst, "failed", `engine '${rec.engine}' has no command template`);
      await this.core.persist();
      return rec.last_error;
    }
    const clear = inst.clear ?? clearOfRecord(rec);
    if (!clear) {
      this.core.setPhase(inst, "failed", SECRETS_LOST);
      await this.core.persist();
      return rec.last_error;
    }
    let argv: string[];
    try {
      argv = expandCommand(template, {
        self: this.settings.self,
        engine: rec.engine,
        model: rec.model_path,
        model_name: rec.model_name,
        port: rec.port,
        ipc_name: rec.ipc_name,
        args: engineArgs(clear.engine_config, clear.additional_config),
      });
    } catch (e) {
      this.core.setPhase(inst, "failed", `cannot build the engine command: ${errorMessage(e)}`);
      await this.core.persist();
      return rec.last_error;
    }
    const env: Record<string, string> = {};
    // The pod's environment (engines need HF_TOKEN, CUDA_*, ...), minus the sidecar's own API key.
    for (const [k, v] of Object.entries(this.settings.env))
      if (v !== undefined && !SIDECAR_ONLY_ENV.has(k)) env[k] = v;
    env.ENABLE_KVCACHED = "true";
    env.KVCACHED_AUTOPATCH = "1";
    env.KVCACHED_IPC_NAME = rec.ipc_name;
    env.VLLM_SERVER_DEV_MODE ??= "1";
    this.core.setPhase(inst, "booting");
    rec.next_restart_at = null;
    try {
      await mkdir(this.settings.logDir, { recursive: true, mode: 0o700 });
      const logFile = join(this.settings.logDir, `${rec.model_name.replace(/[^A-Za-z0-9._-]/g, "_")}.log`);
      const p = spawnGroup(argv, env, logFile);
      rec.pid = p.pid;
      rec.pid_start_time = p.startTime;
      inst.spawnedHere = true;
      // A child of ours that exits is noticed at once, not at the next supervisor round.
      p.exited.then(() => this.onExit?.());
      this.core.onBoot?.();
      this.core.log.info("engine started", {
        model: rec.model_name,
        pid: p.pid,
        port: rec.port,
        argv: redactArgv(argv),
        log_file: logFile,
      });
      if (this.settings.weightCacheDir)
        writeServedMarker(this.settings.weightCacheDir, rec.model_name, rec.artifact_url).catch((e) =>
          this.core.log.warn("could not write the cache marker", { model: rec.model_name, error: e }),
        );
    } catch (e) {
      rec.pid = null;
      this.core.setPhase(inst, "failed", `could not start engine: ${errorMessage(e)}`);
    }
    await this.core.persist();
    return rec.phase === "failed" ? rec.last_error : null;
  }

  // ---- deactivate ----------------------------------------------------------------------------------

  async deactivate(model: string): Promise<{ status: "success" }> {
    // Abort a running download first, so its completion cannot start an engine we are stopping.
    this.core.get(model)?.download?.abort();
    await this.core.withModel(model, async () => {
      const inst = this.core.get(model);
      if (!inst) return;
      inst.download?.abort();
      this.core.setPhase(inst, "stopping");
      await this.core.persist();
      const { pid, pid_start_time } = inst.rec;
      // A PID is only signalled when it is provably ours: spawned here, or its start time recorded.
      if (pid !== null && (pid_start_time !== null || inst.spawnedHere))
        await stopGroup(pid, pid_start_time, this.settings.stopGraceMs);
      this.core.remove(model);
      await this.core.persist();
      this.core.log.info("model deactivated", { model, pid });
    });
    return { status: "success" };
  }

  // ---- restarts ---------------------------------------------------------------------------------------

  backoffMs(restartNumber: number): number {
    return Math.min(this.settings.backoffBaseMs * 2 ** (restartNumber - 1), this.settings.backoffMaxMs);
  }

  /** The engine process is gone: schedule a restart, or fail once the budget is spent (lock held). */
  onEngineDeath(inst: Instance, why = "engine exited"): void {
    const rec = inst.rec;
    // Workers of the dead leader may linger in its group; the leader is gone, so the group is ours.
    if (rec.pid !== null && (rec.pid_start_time !== null || inst.spawnedHere) && !isOurProcess(rec.pid, null))
      signalGroup(rec.pid, "SIGKILL");
    inst.spawnedHere = false;
    rec.pid = null;
    rec.pid_start_time = null;
    if (rec.restart_count >= this.settings.maxRestarts) {
      rec.next_restart_at = null;
      this.core.setPhase(inst, "failed", `${why}; restart budget exhausted`);
      this.core.metrics?.budgetExhausted(rec.model_name);
      return;
    }
    rec.restart_count += 1;
    rec.next_restart_at = (Date.now() + this.backoffMs(rec.restart_count)) / 1000;
    this.core.setPhase(inst, "restarting", why);
    this.core.metrics?.restartAttempt(rec.model_name);
  }
}
