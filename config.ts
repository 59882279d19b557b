// One zod schema over the environment and CLI flags. Pure: loadConfig(env, flags) touches nothing else.
// AIBrix's variable names and defaults are kept (reference/AIBRIX-RUNTIME.md §2.2); our own settings use
// the AIRUNTIME_ prefix.
import { z } from "zod";

// Every schema here (and in the routes) parses small inputs a few times; zod's JIT (code generated with
// new Function per object schema) costs more at start-up (~15 ms for this schema) than it ever saves.
z.config({ jitless: true });
import { closest } from "./flags.ts";
import { parseTemplate } from "./lifecycle/command.ts";

export const ENGINE_KINDS = ["vllm", "sglang", "llamacpp", "tgi", "trtllm", "triton", "generic"] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

/** Other spellings accepted for INFERENCE_ENGINE; `unknown` is what the AIBrix webhook injects when it cannot
 *  tell the engine from the image, so it means generic. */
const ENGINE_ALIASES: Record<string, EngineKind> = {
  "llama.cpp": "llamacpp",
  "llama-cpp": "llamacpp",
  "trt-llm": "trtllm",
  tensorrt: "trtllm",
  "tensorrt-llm": "trtllm",
  unknown: "generic",
};

/** INFERENCE_ENGINE as an engine kind (case-insensitive, aliases accepted); null when it names none. */
export function engineKind(value: string): EngineKind | null {
  const lower = value.trim().toLowerCase();
  const kind = ENGINE_ALIASES[lower] ?? lower;
  return (ENGINE_KINDS as readonly string[]).includes(kind) ? (kind as EngineKind) : null;
}

/** Variables whose values are secrets: never echoed in errors or logs. */
export const SECRET_VARS = new Set([
  "HF_TOKEN",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "TOS_ACCESS_KEY",
  "TOS_SECRET_KEY",
  "TOS_SESSION_KEY",
  "GCS_ACCESS_KEY_ID",
  "GCS_SECRET_ACCESS_KEY",
  "AIRUNTIME_API_KEY",
]);

const TRUE = new Set(["1", "on", "yes", "true"]);
const FALSE = new Set(["0", "off", "no", "false", ""]);

const bool = (def: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return def;
      const s = v.trim().toLowerCase();
      if (TRUE.has(s)) return true;
      if (FALSE.has(s)) return false;
      ctx.addIssue({ code: "custom", message: "expected one of 1/0, true/false, yes/no, on/off" });
      return z.NEVER;
    });

/** An integer setting; unset or empty gives `def` (undefined for settings whose absence means "automatic"). */
const int = <D extends number | undefined>(def: D, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx): number | D => {
      if (v === undefined || v.trim() === "") return def;
      const n = Number(v.trim());
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `expected an integer in [${min}, ${max}]` });
        return z.NEVER;
      }
      return n;
    });

/** Sizes accept plain bytes or a suffix: 64MiB, 16M, 1GiB, 512k. */
export function parseSize(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$/i.exec(v);
  if (!m) return undefined;
  const unit = (m[2] ?? "b").toLowerCase()[0]!;
  const mult = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[unit] ?? 1;
  return Math.round(Number(m[1]) * mult);
}

const size = (def: number, min: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return def;
      const n = parseSize(v);
      if (n === undefined || n < min) {
        ctx.addIssue({ code: "custom", message: `expected a size of at least ${min} bytes (e.g. 16MiB)` });
        return z.NEVER;
      }
      return n;
    });

/** Seconds as a decimal number, returned in milliseconds. */
const seconds = (defSeconds: number, minSeconds: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return Math.round(defSeconds * 1000);
      const n = Number(v.trim());
      if (!Number.isFinite(n) || n < minSeconds) {
        ctx.addIssue({ code: "custom", message: `expected a number of seconds >= ${minSeconds}` });
        return z.NEVER;
      }
      return Math.round(n * 1000);
    });

const httpUrl = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return u.protocol === "http:" || u.protocol === "https:";
    } catch {
      return false;
    }
  },
  { message: "expected an http(s) URL such as http://localhost:8000" },
);

const optStr = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

const list = z
  .string()
  .optional()
  .transform((v) =>
    v === undefined
      ? undefined
      : v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
  );

const absPath = (def: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const p = v === undefined || v.trim() === "" ? def : v.trim();
      if (!p.startsWith("/")) {
        ctx.addIssue({ code: "custom", message: "expected an absolute path" });
        return z.NEVER;
      }
      return p;
    });

/** A command line: a JSON array of strings or whitespace-separated words (see lifecycle/command.ts). */
const commandTemplate = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === "") return undefined;
    try {
      parseTemplate(v);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
      return z.NEVER;
    }
    return v.trim();
  });

const envSchema = z.object({
  INFERENCE_ENGINE: z.string().optional(),
  INFERENCE_ENGINE_VERSION: z.string().optional(),
  INFERENCE_ENGINE_ENDPOINT: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const parts = (v ?? "http://localhost:8000")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      if (parts.length === 0) {
        ctx.addIssue({ code: "custom", message: "expected one or more http(s) URLs, comma separated" });
        return z.NEVER;
      }
      for (const p of parts) {
        if (!httpUrl.safeParse(p).success) {
          ctx.addIssue({
            code: "custom",
            message: `'${p}' is not an http(s) URL (expected e.g. http://localhost:8000)`,
          });
          return z.NEVER;
        }
      }
      return parts.map((p) => p.replace(/\/+$/, ""));
    }),
  METRIC_SCRAPE_PATH: z
    .string()
    .optional()
    // A full URL is accepted too, as AIBrix's urljoin does (Triton serves metrics on its own port, 8002).
    .refine(
      (v) => v === undefined || v === "" || v.startsWith("/") || httpUrl.safeParse(v).success,
      "expected a path starting with / or an http(s) URL",
    ),
  METRICS_ENABLE_TRANSFORMATION: bool(true),
  METRICS_RAW_PASSTHROUGH_MODE: bool(false),
  AIRUNTIME_METRICS_MODE: z.enum(["default", "raw", "standard"]).optional(),
  AIRUNTIME_METRICS_INTERVAL: seconds(1, 0.05),
  AIRUNTIME_METRICS_MAX_AGE: seconds(0, 0),
  AIRUNTIME_METRICS_STALE_AFTER: seconds(5, 0.1),
  AIRUNTIME_METRICS_AUTH: bool(false),
  AIRUNTIME_METRICS_MAX_BYTES: size(16 * 1024 * 1024, 64 * 1024),
  AIRUNTIME_METRICS_MAX_SERIES: int(100_000, 100),

  DOWNLOADER_LOCAL_DIR: absPath("/tmp/aibrix/models/"),
  // Unset (or empty): the connection count is found per download up to an automatic ceiling; set: a cap.
  DOWNLOADER_NUM_THREADS: int(undefined, 1, 256),
  DOWNLOADER_PART_CHUNKSIZE: size(16 * 1024 * 1024, 64 * 1024),
  DOWNLOADER_ALLOW_FILE_SUFFIX: list,
  DOWNLOADER_FORCE_DOWNLOAD: bool(false),
  DOWNLOADER_CHECK_FILE_EXIST: bool(true),
  DOWNLOADER_LAYOUT: z.enum(["aibrix", "hf-cache"]).optional(),
  AIRUNTIME_DOWNLOAD_STALL_TIMEOUT: seconds(10, 0.05),
  AIRUNTIME_DOWNLOAD_RETRIES: int(8, 0, 100),
  AIRUNTIME_DOWNLOAD_VERIFY: bool(true),
  AIRUNTIME_DOWNLOAD_FSYNC: bool(true),
  AIRUNTIME_DOWNLOAD_START_CONNECTIONS: int(4, 1, 256),

  HF_ENDPOINT: httpUrl.optional(),
  HF_TOKEN: optStr,
  HF_REVISION: optStr,
  AWS_ACCESS_KEY_ID: optStr,
  AWS_SECRET_ACCESS_KEY: optStr,
  AWS_SESSION_TOKEN: optStr,
  AWS_ENDPOINT_URL: httpUrl.optional(),
  AWS_REGION: optStr,
  AWS_ROLE_ARN: optStr,
  AWS_WEB_IDENTITY_TOKEN_FILE: optStr,
  AWS_STS_ENDPOINT: httpUrl.optional(),
  AWS_PROFILE: optStr,
  AWS_SHARED_CREDENTIALS_FILE: optStr,
  AWS_CONFIG_FILE: optStr,
  AWS_CONTAINER_CREDENTIALS_FULL_URI: httpUrl.optional(),
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: z
    .string()
    .optional()
    .refine((v) => v === undefined || v.startsWith("/"), "expected a path starting with /"),
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: optStr,
  AWS_CONTAINER_AUTHORIZATION_TOKEN: optStr,
  AIRUNTIME_AWS_CONTAINER_CREDENTIALS_HOST: httpUrl.optional(),
  AWS_EC2_METADATA_SERVICE_ENDPOINT: httpUrl.optional(),
  AWS_EC2_METADATA_DISABLED: bool(false),
  AIRUNTIME_S3_ANONYMOUS: bool(false),
  AIRUNTIME_S3_ADDRESSING: z.enum(["auto", "path", "virtual"]).optional(),
  TOS_ACCESS_KEY: optStr,
  TOS_SECRET_KEY: optStr,
  TOS_SESSION_KEY: optStr,
  TOS_ENDPOINT: optStr,
  TOS_REGION: optStr,
  GCS_ACCESS_KEY_ID: optStr,
  GCS_SECRET_ACCESS_KEY: optStr,
  GCS_ENDPOINT: httpUrl.optional(),
  GOOGLE_APPLICATION_CREDENTIALS: optStr,
  AIRUNTIME_GCS_TOKEN_URI: httpUrl.optional(),
  GCE_METADATA_HOST: z
    .string()
    .optional()
    .refine((v) => v === undefined || /^[A-Za-z0-9.[\]:-]+$/.test(v), "expected host or host:port"),
  AIRUNTIME_GCE_METADATA_DISABLED: bool(false),
  AIRUNTIME_GCS_ANONYMOUS: bool(false),
  HF_TOKEN_PATH: optStr,
  HF_HOME: optStr,

  LOG_LEVEL: z
    .string()
    .optional()
    .refine(
      (v) => v === undefined || /^(debug|info|warn|warning|error|critical|fatal)$/i.test(v),
      "expected debug, info, warning or error",
    ),

  AIRUNTIME_API_KEY: optStr,
  AIRUNTIME_API_KEY_FILE: optStr,
  AIRUNTIME_UNIX_SOCKET: optStr,
  AIRUNTIME_ADAPTERS_DIR: absPath("/tmp/aibrix/adapters"),
  AIRUNTIME_CREDENTIALS_DIR: absPath("/var/run/secrets/aibrix"),
  AIRUNTIME_STATE_DIR: absPath("/tmp/aibrix/state"),
  AIRUNTIME_ALLOWED_SOURCES: list,
  AIRUNTIME_DOWNLOAD_ROOTS: list,
  AIRUNTIME_MAX_DOWNLOAD_BYTES: size(0, 0),
  AIRUNTIME_ENGINE_TIMEOUT: seconds(25, 0.1),
  AIRUNTIME_REQUEST_TIMEOUT: seconds(60, 1),
  AIRUNTIME_MAX_BODY_BYTES: size(1024 * 1024, 1024),
  AIRUNTIME_READY_INTERVAL: seconds(1, 0.05),
  AIRUNTIME_SHUTDOWN_GRACE: seconds(10, 0),

  // ModelClaim engine lifecycle (lifecycle/, reference/AIBRIX-RUNTIME.md §1.9, §2.3, §6.1).
  AIBRIX_ENGINE_REGISTRY_PATH: absPath("/var/run/aibrix/engines.json"),
  AIBRIX_MODEL_RUNTIME_MOCK: bool(false),
  AIBRIX_WEIGHT_CACHE_DIR: optStr,
  AIRUNTIME_ENGINE_PORT_RANGE: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(v ?? "20000-21000");
      const lo = Number(m?.[1]);
      const hi = Number(m?.[2]);
      if (!m || lo < 1 || hi > 65536 || hi <= lo) {
        ctx.addIssue({ code: "custom", message: "expected 'LOW-HIGH' (HIGH exclusive), e.g. 20000-21000" });
        return z.NEVER;
      }
      return [lo, hi] as [number, number];
    }),
  ...(Object.fromEntries(
    ENGINE_KINDS.map((k) => [`AIRUNTIME_ENGINE_COMMAND_${k.toUpperCase()}`, commandTemplate]),
  ) as Record<`AIRUNTIME_ENGINE_COMMAND_${Uppercase<EngineKind>}`, typeof commandTemplate>),
  AIRUNTIME_KVCTL_COMMAND: commandTemplate,
  AIRUNTIME_ENGINE_MAX_RESTARTS: int(5, 0, 10_000),
  AIRUNTIME_ENGINE_RESTART_BACKOFF: seconds(2, 0.001),
  AIRUNTIME_ENGINE_RESTART_BACKOFF_MAX: seconds(60, 0.001),
  AIRUNTIME_ENGINE_STOP_GRACE: seconds(10, 0),
  AIRUNTIME_SUPERVISOR_INTERVAL: seconds(1, 0.01),
});

export interface Flags {
  host?: string;
  port?: number;
}

export type MetricsMode = "default" | "raw" | "standard";

export interface Config {
  host: string;
  port: number;
  unixSocket?: string;
  engine: EngineKind;
  /** The INFERENCE_ENGINE value as given, for the warning when it fell back to generic. */
  engineRequested: string;
  engineVersion: string;
  engineEndpoints: string[];
  /** METRIC_SCRAPE_PATH when set (a path, or a full URL); otherwise the engine adapter's own metrics path. */
  metricsPath?: string;
  metricsMode: MetricsMode;
  metricsIntervalMs: number;
  metricsMaxAgeMs: number;
  metricsStaleAfterMs: number;
  metricsAuth: boolean;
  /** Largest engine metrics body read (bytes); a longer one is cut off and counted as a scrape error. */
  metricsMaxBytes: number;
  /** Most samples read from one engine scrape (lines: 4x that); more is a scrape error. */
  metricsMaxSeries: number;
  downloader: {
    localDir: string;
    /** DOWNLOADER_NUM_THREADS: the most connections of one download when set; unset = automatic. */
    numThreads?: number;
    partSize: number;
    allowFileSuffix?: string[];
    forceDownload: boolean;
    checkFileExist: boolean;
    layout: "aibrix" | "hf-cache";
    maxBytes: number;
    allowedSources?: string[];
    /** Directories a request's local_dir may name (DOWNLOADER_LOCAL_DIR always included). */
    roots: string[];
    /** A request that delivers no bytes for this long is retried. */
    stallMs: number;
    maxRetries: number;
    /** Hash files whose digest is known (SHA-256 / git SHA-1 / MD5). */
    verify: boolean;
    /** fsync files before publishing them (turn off only on scratch volumes). */
    fsync: boolean;
    startConnections: number;
  };
  hf: {
    endpoint: string;
    token?: string;
    /** Read when HF_TOKEN is unset: HF_TOKEN_PATH, else $HF_HOME/token (default ~/.cache/huggingface/token). */
    tokenFile?: string;
    revision?: string;
  };
  aws: {
    accessKeyId?: string;
    secretAccessKey?: string;
    sessionToken?: string;
    endpointUrl?: string;
    region?: string;
    roleArn?: string;
    webIdentityTokenFile?: string;
    stsEndpoint?: string;
    addressing: "auto" | "path" | "virtual";
    /** AWS_PROFILE, default "default"; `profileExplicit` when it was set. */
    profile: string;
    profileExplicit: boolean;
    /** AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE, default ~/.aws/credentials and ~/.aws/config. */
    sharedCredentialsFile?: string;
    configFile?: string;
    containerFullUri?: string;
    containerRelativeUri?: string;
    /** Host a relative container credentials URI is resolved against (http://169.254.170.2). */
    containerHost: string;
    containerTokenFile?: string;
    containerToken?: string;
    /** IMDSv2 endpoint (http://169.254.169.254) and AWS_EC2_METADATA_DISABLED. */
    imdsEndpoint: string;
    imdsDisabled: boolean;
    /** Unsigned requests (public buckets): AIRUNTIME_S3_ANONYMOUS or --no-sign-request. */
    anonymous: boolean;
  };
  tos: { accessKey?: string; secretKey?: string; sessionKey?: string; endpoint?: string; region?: string };
  gcs: {
    accessKeyId?: string;
    secretAccessKey?: string;
    endpoint?: string;
    /** GOOGLE_APPLICATION_CREDENTIALS: a service-account JSON file. */
    applicationCredentials?: string;
    /** Replaces the JSON's token_uri (tests; private Google access endpoints). */
    tokenUri?: string;
    /** The metadata server (GKE Workload Identity, GCE): http://<GCE_METADATA_HOST>, default 169.254.169.254. */
    metadataUrl: string;
    metadataDisabled: boolean;
    /** Unauthenticated requests (public buckets): AIRUNTIME_GCS_ANONYMOUS or --no-sign-request. */
    anonymous: boolean;
  };
  logLevel: string;
  apiKey?: string;
  apiKeyFile?: string;
  adaptersDir: string;
  credentialsDir: string;
  stateDir: string;
  engineTimeoutMs: number;
  requestTimeoutMs: number;
  maxBodyBytes: number;
  readyIntervalMs: number;
  shutdownGraceMs: number;
  lifecycle: LifecycleConfig;
  /** Non-fatal remarks for the start-up log (e.g. unknown engine fell back to generic). */
  warnings: string[];
}

export interface LifecycleConfig {
  registryPath: string;
  /** AIBRIX_MODEL_RUNTIME_MOCK: engines default to `airuntime mock-engine`, KV limits are only recorded. */
  mock: boolean;
  weightCacheDir: string;
  /** [low, high): ports tried for engines activated with port 0. */
  portRange: [number, number];
  /** Engine kind -> command template (AIRUNTIME_ENGINE_COMMAND_<KIND>); unset kinds use the defaults. */
  commands: Partial<Record<EngineKind, string>>;
  kvctlCommand?: string;
  maxRestarts: number;
  restartBackoffMs: number;
  restartBackoffMaxMs: number;
  stopGraceMs: number;
  supervisorIntervalMs: number;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** Parse env + flags. Throws ConfigError listing every bad variable at once (secret values never shown). */
export function loadConfig(env: Record<string, string | undefined>, flags: Flags = {}): Config {
  const problems: string[] = [];
  if (flags.port !== undefined && (!Number.isInteger(flags.port) || flags.port < 0 || flags.port > 65535))
    problems.push(`--port: expected an integer in [0, 65535]`);

  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(envSchema.shape)) raw[key] = env[key];
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? "?");
      const shown = SECRET_VARS.has(key) || raw[key] === undefined ? "" : ` (got '${raw[key]}')`;
      problems.push(`${key}: ${issue.message}${shown}`);
    }
  }
  const requested = raw.INFERENCE_ENGINE?.trim() || "vllm";
  const engine = engineKind(requested);
  if (engine === null) {
    const hint = closest(requested, ENGINE_KINDS);
    problems.push(
      `INFERENCE_ENGINE: '${requested}' is not a known engine${hint ? ` (did you mean ${hint}?)` : ""}; one of ${ENGINE_KINDS.join(", ")} (generic: metrics passed through raw, no LoRA)`,
    );
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const e = parsed.data;

  const warnings: string[] = [];
  if ((e.AWS_ACCESS_KEY_ID === undefined) !== (e.AWS_SECRET_ACCESS_KEY === undefined))
    warnings.push(
      "only one of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY is set; s3:// downloads fail until both are",
    );

  const metricsMode: MetricsMode =
    e.AIRUNTIME_METRICS_MODE ??
    (e.METRICS_RAW_PASSTHROUGH_MODE || !e.METRICS_ENABLE_TRANSFORMATION ? "raw" : "default");
  const interval = e.AIRUNTIME_METRICS_INTERVAL;

  return {
    host: flags.host ?? "0.0.0.0",
    port: flags.port ?? 8080,
    unixSocket: e.AIRUNTIME_UNIX_SOCKET,
    engine: engine ?? "generic",
    engineRequested: requested,
    engineVersion: e.INFERENCE_ENGINE_VERSION ?? "unknown",
    engineEndpoints: e.INFERENCE_ENGINE_ENDPOINT,
    metricsPath: e.METRIC_SCRAPE_PATH || undefined,
    metricsMode,
    metricsIntervalMs: interval,
    metricsMaxAgeMs: e.AIRUNTIME_METRICS_MAX_AGE > 0 ? e.AIRUNTIME_METRICS_MAX_AGE : 2 * interval,
    metricsStaleAfterMs: e.AIRUNTIME_METRICS_STALE_AFTER,
    metricsAuth: e.AIRUNTIME_METRICS_AUTH,
    metricsMaxBytes: e.AIRUNTIME_METRICS_MAX_BYTES,
    metricsMaxSeries: e.AIRUNTIME_METRICS_MAX_SERIES,
    downloader: {
      localDir: e.DOWNLOADER_LOCAL_DIR,
      numThreads: e.DOWNLOADER_NUM_THREADS,
      partSize: e.DOWNLOADER_PART_CHUNKSIZE,
      allowFileSuffix: e.DOWNLOADER_ALLOW_FILE_SUFFIX,
      forceDownload: e.DOWNLOADER_FORCE_DOWNLOAD,
      checkFileExist: e.DOWNLOADER_CHECK_FILE_EXIST,
      layout: e.DOWNLOADER_LAYOUT ?? "aibrix",
      maxBytes: e.AIRUNTIME_MAX_DOWNLOAD_BYTES,
      allowedSources: e.AIRUNTIME_ALLOWED_SOURCES,
      roots: [e.DOWNLOADER_LOCAL_DIR, ...(e.AIRUNTIME_DOWNLOAD_ROOTS ?? [])],
      stallMs: e.AIRUNTIME_DOWNLOAD_STALL_TIMEOUT,
      maxRetries: e.AIRUNTIME_DOWNLOAD_RETRIES,
      verify: e.AIRUNTIME_DOWNLOAD_VERIFY,
      fsync: e.AIRUNTIME_DOWNLOAD_FSYNC,
      startConnections: e.AIRUNTIME_DOWNLOAD_START_CONNECTIONS,
    },
    hf: {
      endpoint: (e.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, ""),
      token: e.HF_TOKEN,
      tokenFile:
        e.HF_TOKEN_PATH ??
        (e.HF_HOME
          ? `${e.HF_HOME.replace(/\/+$/, "")}/token`
          : env.HOME
            ? `${env.HOME}/.cache/huggingface/token`
            : undefined),
      revision: e.HF_REVISION,
    },
    aws: {
      accessKeyId: e.AWS_ACCESS_KEY_ID,
      secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
      sessionToken: e.AWS_SESSION_TOKEN,
      endpointUrl: e.AWS_ENDPOINT_URL,
      region: e.AWS_REGION,
      roleArn: e.AWS_ROLE_ARN,
      webIdentityTokenFile: e.AWS_WEB_IDENTITY_TOKEN_FILE,
      stsEndpoint: e.AWS_STS_ENDPOINT,
      addressing: e.AIRUNTIME_S3_ADDRESSING ?? "auto",
      profile: e.AWS_PROFILE ?? "default",
      profileExplicit: e.AWS_PROFILE !== undefined,
      sharedCredentialsFile:
        e.AWS_SHARED_CREDENTIALS_FILE ?? (env.HOME ? `${env.HOME}/.aws/credentials` : undefined),
      configFile: e.AWS_CONFIG_FILE ?? (env.HOME ? `${env.HOME}/.aws/config` : undefined),
      containerFullUri: e.AWS_CONTAINER_CREDENTIALS_FULL_URI,
      containerRelativeUri: e.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
      containerHost: e.AIRUNTIME_AWS_CONTAINER_CREDENTIALS_HOST ?? "http://169.254.170.2",
      containerTokenFile: e.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
      containerToken: e.AWS_CONTAINER_AUTHORIZATION_TOKEN,
      imdsEndpoint: e.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? "http://169.254.169.254",
      imdsDisabled: e.AWS_EC2_METADATA_DISABLED,
      anonymous: e.AIRUNTIME_S3_ANONYMOUS,
    },
    // As AIBrix (TOS v2 runs boto3): with no TOS_* keys, tos:// uses the AWS_* keys, and AWS_ENDPOINT_URL
    // when TOS_ENDPOINT is unset. AWS keys go only to an endpoint named in the environment, never to the
    // built-in volces.com default.
    tos:
      e.TOS_ACCESS_KEY || e.TOS_SECRET_KEY || !(e.TOS_ENDPOINT || e.AWS_ENDPOINT_URL)
        ? {
            accessKey: e.TOS_ACCESS_KEY,
            secretKey: e.TOS_SECRET_KEY,
            sessionKey: e.TOS_SESSION_KEY,
            endpoint: e.TOS_ENDPOINT,
            region: e.TOS_REGION,
          }
        : {
            accessKey: e.AWS_ACCESS_KEY_ID,
            secretKey: e.AWS_SECRET_ACCESS_KEY,
            sessionKey: e.TOS_SESSION_KEY ?? e.AWS_SESSION_TOKEN,
            endpoint: e.TOS_ENDPOINT ?? e.AWS_ENDPOINT_URL,
            region: e.TOS_REGION,
          },
    gcs: {
      accessKeyId: e.GCS_ACCESS_KEY_ID,
      secretAccessKey: e.GCS_SECRET_ACCESS_KEY,
      endpoint: e.GCS_ENDPOINT,
      applicationCredentials: e.GOOGLE_APPLICATION_CREDENTIALS,
      tokenUri: e.AIRUNTIME_GCS_TOKEN_URI,
      metadataUrl: `http://${e.GCE_METADATA_HOST ?? "169.254.169.254"}`,
      metadataDisabled: e.AIRUNTIME_GCE_METADATA_DISABLED,
      anonymous: e.AIRUNTIME_GCS_ANONYMOUS,
    },
    logLevel: e.LOG_LEVEL ?? "info",
    apiKey: e.AIRUNTIME_API_KEY,
    apiKeyFile: e.AIRUNTIME_API_KEY_FILE,
    adaptersDir: e.AIRUNTIME_ADAPTERS_DIR,
    credentialsDir: e.AIRUNTIME_CREDENTIALS_DIR,
    stateDir: e.AIRUNTIME_STATE_DIR,
    engineTimeoutMs: e.AIRUNTIME_ENGINE_TIMEOUT,
    requestTimeoutMs: e.AIRUNTIME_REQUEST_TIMEOUT,
    maxBodyBytes: e.AIRUNTIME_MAX_BODY_BYTES,
    readyIntervalMs: e.AIRUNTIME_READY_INTERVAL,
    shutdownGraceMs: e.AIRUNTIME_SHUTDOWN_GRACE,
    lifecycle: {
      registryPath: e.AIBRIX_ENGINE_REGISTRY_PATH,
      mock: e.AIBRIX_MODEL_RUNTIME_MOCK,
      weightCacheDir: e.AIBRIX_WEIGHT_CACHE_DIR ?? `${env.HOME ?? "/root"}/.cache/huggingface`,
      portRange: e.AIRUNTIME_ENGINE_PORT_RANGE,
      commands: Object.fromEntries(
        ENGINE_KINDS.flatMap((k) => {
          const t = e[`AIRUNTIME_ENGINE_COMMAND_${k.toUpperCase() as Uppercase<EngineKind>}`];
          return t ? [[k, t]] : [];
        }),
      ),
      kvctlCommand: e.AIRUNTIME_KVCTL_COMMAND,
      maxRestarts: e.AIRUNTIME_ENGINE_MAX_RESTARTS,
      restartBackoffMs: e.AIRUNTIME_ENGINE_RESTART_BACKOFF,
      restartBackoffMaxMs: e.AIRUNTIME_ENGINE_RESTART_BACKOFF_MAX,
      stopGraceMs: e.AIRUNTIME_ENGINE_STOP_GRACE,
      supervisorIntervalMs: e.AIRUNTIME_SUPERVISOR_INTERVAL,
    },
    warnings,
  };
}

/** Every variable the schema knows, for docs and the deploy-manifest consistency test. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);
