// One zod schema over the environment and CLI flags, and the only place that reads them: its output type is
// Config. Each setting is declared once, as a leaf naming its variable (`env`) or flag, secrets marked there
// (`secret`); derived settings are computed once, in the schema's transforms. Pure: loadConfig(env, flags)
// touches nothing else. AIBrix's variable names and defaults are kept (reference/AIBRIX-RUNTIME.md §2.2);
// our own settings use the AIRUNTIME_ prefix.
import { z } from "zod";

// Every schema here (and in the routes) parses small inputs a few times; zod's JIT (code generated with
// new Function per object schema) costs more at start-up (~15 ms for this schema) than it ever saves.
z.config({ jitless: true });
import { closest } from "./flags.ts";
import { parseTemplate } from "./lib/command-line.ts";

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

/** INFERENCE_ENGINE: an engine kind; a name that is none fails with a suggestion (generic only when asked). */
const engine = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const requested = v?.trim() || "vllm";
    const kind = engineKind(requested);
    if (kind) return kind;
    const hint = closest(requested, ENGINE_KINDS);
    ctx.addIssue({
      code: "custom",
      message: `'${requested}' is not a known engine${hint ? ` (did you mean ${hint}?)` : ""}; one of ${ENGINE_KINDS.join(", ")} (generic: metrics passed through raw, no LoRA)`,
    });
    return z.NEVER;
  });

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

/** A command line: a JSON array of strings or whitespace-separated words (see lib/command-line.ts). */
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

/** Where a setting comes from: one environment variable or one command-line flag. */
interface Origin {
  env?: string;
  flag?: string;
  /** Its value is a secret: never shown in a problem, registered for redaction at start-up. */
  secret?: boolean;
}
const origins = z.registry<Origin>();
const from = <S extends z.ZodType>(o: Origin, s: S): S => {
  const leaf = s.clone();
  origins.add(leaf, o);
  return leaf;
};
/** A setting read from the environment variable `name`. */
const env = <S extends z.ZodType>(name: string, s: S): S => from({ env: name }, s);
/** A setting whose value is a secret (credentials, the API key). */
const secret = (name: string) => from({ env: name, secret: true }, optStr);

const engineEndpoints = z
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
  });

const portRange = z
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
  });

/** How every download runs (API, CLI, LoRA artifacts, lifecycle weights): storage/download.ts's tuning. */
const downloadTuning = z.object({
  // Unset: each download finds its connection count, starting at startConnections, up to the automatic
  // ceiling of 64 (~64 x 90 MB/s per connection fills a 50 Gbit/s NIC from a store that caps each
  // connection; where the CPU or disk is the limit the tuner stops growing first); set: at most that many.
  connections: env("DOWNLOADER_NUM_THREADS", int(64, 1, 256)),
  startConnections: env("AIRUNTIME_DOWNLOAD_START_CONNECTIONS", int(4, 1, 256)),
  partSize: env("DOWNLOADER_PART_CHUNKSIZE", size(16 * 1024 * 1024, 64 * 1024)),
  /** A request that delivers no bytes for this long is retried. */
  stallMs: env("AIRUNTIME_DOWNLOAD_STALL_TIMEOUT", seconds(10, 0.05)),
  maxRetries: env("AIRUNTIME_DOWNLOAD_RETRIES", int(8, 0, 100)),
  /** Hash files whose digest is known (SHA-256 / git SHA-1 / MD5). */
  verify: env("AIRUNTIME_DOWNLOAD_VERIFY", bool(true)),
  /** fsync files before publishing them (turn off only on scratch volumes). */
  fsync: env("AIRUNTIME_DOWNLOAD_FSYNC", bool(true)),
});
/** The download settings when nothing is set (storage/download.ts's defaults for direct calls). */
export const DEFAULT_DOWNLOAD_TUNING = downloadTuning.parse({});

const settings = z.object({
  host: from({ flag: "--host" }, z.string().default("0.0.0.0")),
  port: from(
    { flag: "--port" },
    z.number().int().min(0).max(65535, "expected an integer in [0, 65535]").default(8080),
  ),
  unixSocket: env("AIRUNTIME_UNIX_SOCKET", optStr),
  engine: env("INFERENCE_ENGINE", engine),
  engineVersion: env("INFERENCE_ENGINE_VERSION", z.string().default("unknown")),
  engineEndpoints: env("INFERENCE_ENGINE_ENDPOINT", engineEndpoints),
  /** METRIC_SCRAPE_PATH when set (a path, or a full URL); otherwise the engine adapter's own metrics path. */
  metricsPath: env(
    "METRIC_SCRAPE_PATH",
    z
      .string()
      .optional()
      // A full URL is accepted too, as AIBrix's urljoin does (Triton serves metrics on its own port, 8002).
      .refine(
        (v) => v === undefined || v === "" || v.startsWith("/") || httpUrl.safeParse(v).success,
        "expected a path starting with / or an http(s) URL",
      )
      .transform((v) => v || undefined),
  ),
  metricsMode: z
    .object({
      transformation: env("METRICS_ENABLE_TRANSFORMATION", bool(true)),
      rawPassthrough: env("METRICS_RAW_PASSTHROUGH_MODE", bool(false)),
      mode: env("AIRUNTIME_METRICS_MODE", z.enum(["default", "raw", "standard"]).optional()),
    })
    .transform((m) => m.mode ?? (m.rawPassthrough || !m.transformation ? "raw" : "default")),
  metricsIntervalMs: env("AIRUNTIME_METRICS_INTERVAL", seconds(1, 0.05)),
  /** 0 (unset): twice the interval (derived below). */
  metricsMaxAgeMs: env("AIRUNTIME_METRICS_MAX_AGE", seconds(0, 0)),
  metricsStaleAfterMs: env("AIRUNTIME_METRICS_STALE_AFTER", seconds(5, 0.1)),
  metricsAuth: env("AIRUNTIME_METRICS_AUTH", bool(false)),
  /** Largest engine metrics body read (bytes); a longer one is cut off and counted as a scrape error. */
  metricsMaxBytes: env("AIRUNTIME_METRICS_MAX_BYTES", size(16 * 1024 * 1024, 64 * 1024)),
  /** Most samples read from one engine scrape (lines: 4x that); more is a scrape error. */
  metricsMaxSeries: env("AIRUNTIME_METRICS_MAX_SERIES", int(100_000, 100)),

  downloader: z
    .object({
      localDir: env("DOWNLOADER_LOCAL_DIR", absPath("/tmp/aibrix/models/")),
      allowFileSuffix: env("DOWNLOADER_ALLOW_FILE_SUFFIX", list),
      forceDownload: env("DOWNLOADER_FORCE_DOWNLOAD", bool(false)),
      checkFileExist: env("DOWNLOADER_CHECK_FILE_EXIST", bool(true)),
      layout: env("DOWNLOADER_LAYOUT", z.enum(["aibrix", "hf-cache"]).default("aibrix")),
      maxBytes: env("AIRUNTIME_MAX_DOWNLOAD_BYTES", size(0, 0)),
      allowedSources: env("AIRUNTIME_ALLOWED_SOURCES", list),
      /** Directories a request's local_dir may name (DOWNLOADER_LOCAL_DIR always included, below). */
      roots: env("AIRUNTIME_DOWNLOAD_ROOTS", list),
      tuning: downloadTuning,
    })
    .transform((d) => ({ ...d, roots: [d.localDir, ...(d.roots ?? [])] })),

  hf: z.object({
    endpoint: env(
      "HF_ENDPOINT",
      httpUrl.optional().transform((v) => (v ?? "https://huggingface.co").replace(/\/+$/, "")),
    ),
    token: secret("HF_TOKEN"),
    /** Read when HF_TOKEN is unset: HF_TOKEN_PATH, else $HF_HOME/token (default under HOME, below). */
    tokenFile: env("HF_TOKEN_PATH", optStr),
    hfHome: env("HF_HOME", optStr),
    revision: env("HF_REVISION", optStr),
  }),
  aws: z.object({
    accessKeyId: secret("AWS_ACCESS_KEY_ID"),
    secretAccessKey: secret("AWS_SECRET_ACCESS_KEY"),
    sessionToken: secret("AWS_SESSION_TOKEN"),
    endpointUrl: env("AWS_ENDPOINT_URL", httpUrl.optional()),
    region: env("AWS_REGION", optStr),
    roleArn: env("AWS_ROLE_ARN", optStr),
    webIdentityTokenFile: env("AWS_WEB_IDENTITY_TOKEN_FILE", optStr),
    stsEndpoint: env("AWS_STS_ENDPOINT", httpUrl.optional()),
    addressing: env("AIRUNTIME_S3_ADDRESSING", z.enum(["auto", "path", "virtual"]).default("auto")),
    /** AWS_PROFILE, default "default" (below); `profileExplicit` when it was set. */
    profile: env("AWS_PROFILE", optStr),
    /** AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE, default ~/.aws/credentials and ~/.aws/config (below). */
    sharedCredentialsFile: env("AWS_SHARED_CREDENTIALS_FILE", optStr),
    configFile: env("AWS_CONFIG_FILE", optStr),
    containerFullUri: env("AWS_CONTAINER_CREDENTIALS_FULL_URI", httpUrl.optional()),
    containerRelativeUri: env(
      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
      z
        .string()
        .optional()
        .refine((v) => v === undefined || v.startsWith("/"), "expected a path starting with /"),
    ),
    /** Host a relative container credentials URI is resolved against. */
    containerHost: env(
      "AIRUNTIME_AWS_CONTAINER_CREDENTIALS_HOST",
      httpUrl.optional().transform((v) => v ?? "http://169.254.170.2"),
    ),
    containerTokenFile: env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", optStr),
    containerToken: secret("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    /** IMDSv2 endpoint and AWS_EC2_METADATA_DISABLED. */
    imdsEndpoint: env(
      "AWS_EC2_METADATA_SERVICE_ENDPOINT",
      httpUrl.optional().transform((v) => v ?? "http://169.254.169.254"),
    ),
    imdsDisabled: env("AWS_EC2_METADATA_DISABLED", bool(false)),
    /** Unsigned requests (public buckets): AIRUNTIME_S3_ANONYMOUS or --no-sign-request. */
    anonymous: env("AIRUNTIME_S3_ANONYMOUS", bool(false)),
  }),
  tos: z.object({
    accessKey: secret("TOS_ACCESS_KEY"),
    secretKey: secret("TOS_SECRET_KEY"),
    sessionKey: secret("TOS_SESSION_KEY"),
    endpoint: env("TOS_ENDPOINT", optStr),
    region: env("TOS_REGION", optStr),
  }),
  gcs: z.object({
    accessKeyId: secret("GCS_ACCESS_KEY_ID"),
    secretAccessKey: secret("GCS_SECRET_ACCESS_KEY"),
    endpoint: env("GCS_ENDPOINT", httpUrl.optional()),
    /** GOOGLE_APPLICATION_CREDENTIALS: a service-account JSON file. */
    applicationCredentials: env("GOOGLE_APPLICATION_CREDENTIALS", optStr),
    /** Replaces the JSON's token_uri (tests; private Google access endpoints). */
    tokenUri: env("AIRUNTIME_GCS_TOKEN_URI", httpUrl.optional()),
    /** The metadata server (GKE Workload Identity, GCE): http://<GCE_METADATA_HOST>, default 169.254.169.254. */
    metadataUrl: env(
      "GCE_METADATA_HOST",
      z
        .string()
        .optional()
        .refine((v) => v === undefined || /^[A-Za-z0-9.[\]:-]+$/.test(v), "expected host or host:port")
        .transform((v) => `http://${v ?? "169.254.169.254"}`),
    ),
    metadataDisabled: env("AIRUNTIME_GCE_METADATA_DISABLED", bool(false)),
    /** Unauthenticated requests (public buckets): AIRUNTIME_GCS_ANONYMOUS or --no-sign-request. */
    anonymous: env("AIRUNTIME_GCS_ANONYMOUS", bool(false)),
  }),

  logLevel: env(
    "LOG_LEVEL",
    z
      .string()
      .optional()
      .refine(
        (v) => v === undefined || /^(debug|info|warn|warning|error|critical|fatal)$/i.test(v),
        "expected debug, info, warning or error",
      )
      .transform((v) => v ?? "info"),
  ),
  apiKey: secret("AIRUNTIME_API_KEY"),
  apiKeyFile: env("AIRUNTIME_API_KEY_FILE", optStr),
  adaptersDir: env("AIRUNTIME_ADAPTERS_DIR", absPath("/tmp/aibrix/adapters")),
  credentialsDir: env("AIRUNTIME_CREDENTIALS_DIR", absPath("/var/run/secrets/aibrix")),
  stateDir: env("AIRUNTIME_STATE_DIR", absPath("/tmp/aibrix/state")),
  /** Deadline of one call to the engine (attached or launched). */
  engineTimeoutMs: env("AIRUNTIME_ENGINE_TIMEOUT", seconds(25, 0.1)),
  requestTimeoutMs: env("AIRUNTIME_REQUEST_TIMEOUT", seconds(60, 1)),
  maxBodyBytes: env("AIRUNTIME_MAX_BODY_BYTES", size(1024 * 1024, 1024)),
  readyIntervalMs: env("AIRUNTIME_READY_INTERVAL", seconds(1, 0.05)),
  shutdownGraceMs: env("AIRUNTIME_SHUTDOWN_GRACE", seconds(10, 0)),

  // ModelClaim engine lifecycle (lifecycle/, reference/AIBRIX-RUNTIME.md §1.9, §2.3, §6.1).
  lifecycle: z.object({
    registryPath: env("AIBRIX_ENGINE_REGISTRY_PATH", absPath("/var/run/aibrix/engines.json")),
    /** AIBRIX_MODEL_RUNTIME_MOCK: engines default to `airuntime mock-engine`, KV limits are only recorded. */
    mock: env("AIBRIX_MODEL_RUNTIME_MOCK", bool(false)),
    weightCacheDir: env("AIBRIX_WEIGHT_CACHE_DIR", optStr),
    /** [low, high): ports tried for engines activated with port 0. */
    portRange: env("AIRUNTIME_ENGINE_PORT_RANGE", portRange),
    /** Engine kind -> command template (AIRUNTIME_ENGINE_COMMAND_<KIND>); unset kinds use the defaults. */
    commands: z
      .object(
        Object.fromEntries(
          ENGINE_KINDS.map((k) => [k, env(`AIRUNTIME_ENGINE_COMMAND_${k.toUpperCase()}`, commandTemplate)]),
        ) as Record<EngineKind, typeof commandTemplate>,
      )
      .transform(
        (c) =>
          Object.fromEntries(Object.entries(c).filter(([, t]) => t !== undefined)) as Partial<
            Record<EngineKind, string>
          >,
      ),
    kvctlCommand: env("AIRUNTIME_KVCTL_COMMAND", commandTemplate),
    maxRestarts: env("AIRUNTIME_ENGINE_MAX_RESTARTS", int(5, 0, 10_000)),
    restartBackoffMs: env("AIRUNTIME_ENGINE_RESTART_BACKOFF", seconds(2, 0.001)),
    restartBackoffMaxMs: env("AIRUNTIME_ENGINE_RESTART_BACKOFF_MAX", seconds(60, 0.001)),
    stopGraceMs: env("AIRUNTIME_ENGINE_STOP_GRACE", seconds(10, 0)),
    supervisorIntervalMs: env("AIRUNTIME_SUPERVISOR_INTERVAL", seconds(1, 0.01)),
  }),
  /** Default place of the token and credential files, and of the weight cache. */
  home: env("HOME", optStr),
});

/** The settings schema plus what is derived from several settings at once. Its output type is Config. */
export const configSchema = settings.transform(
  ({ home, hf: { hfHome, ...hf }, aws, tos, lifecycle, ...c }) => {
    /** Non-fatal remarks for the start-up log. */
    const warnings: string[] = [];
    if ((aws.accessKeyId === undefined) !== (aws.secretAccessKey === undefined))
      warnings.push(
        "only one of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY is set; s3:// downloads fail until both are",
      );
    const underHome = (p: string) => (home ? `${home}/${p}` : undefined);
    return {
      ...c,
      hf: {
        ...hf,
        tokenFile:
          hf.tokenFile ??
          (hfHome ? `${hfHome.replace(/\/+$/, "")}/token` : underHome(".cache/huggingface/token")),
      },
      aws: {
        ...aws,
        profile: aws.profile ?? "default",
        profileExplicit: aws.profile !== undefined,
        sharedCredentialsFile: aws.sharedCredentialsFile ?? underHome(".aws/credentials"),
        configFile: aws.configFile ?? underHome(".aws/config"),
      },
      lifecycle: {
        ...lifecycle,
        weightCacheDir: lifecycle.weightCacheDir ?? `${home ?? "/root"}/.cache/huggingface`,
      },
      metricsMaxAgeMs: c.metricsMaxAgeMs > 0 ? c.metricsMaxAgeMs : 2 * c.metricsIntervalMs,
      // As AIBrix (TOS v2 runs boto3): with no TOS_* keys, tos:// uses the AWS_* keys, and AWS_ENDPOINT_URL
      // when TOS_ENDPOINT is unset. AWS keys go only to an endpoint named in the environment, never to the
      // built-in volces.com default.
      tos:
        tos.accessKey || tos.secretKey || !(tos.endpoint || aws.endpointUrl)
          ? tos
          : {
              accessKey: aws.accessKeyId,
              secretKey: aws.secretAccessKey,
              sessionKey: tos.sessionKey ?? aws.sessionToken,
              endpoint: tos.endpoint ?? aws.endpointUrl,
              region: tos.region,
            },
      warnings,
    };
  },
);

export type Config = z.output<typeof configSchema>;
export type MetricsMode = Config["metricsMode"];
export type LifecycleConfig = Config["lifecycle"];
export type DownloadTuning = Config["downloader"]["tuning"];

export interface Flags {
  host?: string;
  port?: number;
}

/** A leaf of the schema: its path in Config and where its value comes from. */
interface Leaf extends Origin {
  path: string[];
}

function leaves(shape: z.ZodRawShape, path: string[] = []): Leaf[] {
  return Object.entries(shape).flatMap(([key, s]): Leaf[] => {
    const origin = origins.get(s);
    if (origin) return [{ ...origin, path: [...path, key] }];
    const inner = s instanceof z.ZodPipe ? s.in : s;
    if (inner instanceof z.ZodObject) return leaves(inner.shape, [...path, key]);
    throw new Error(`config.ts: setting ${[...path, key].join(".")} names no variable or flag`);
  });
}
const LEAVES = leaves(settings.shape);

/** Every variable the schema knows, for docs and the deploy-manifest consistency test. */
export const CONFIG_VARIABLES: readonly string[] = LEAVES.flatMap((l) => (l.env ? [l.env] : []));
/** Variables whose values are secrets: never echoed in errors or logs. */
export const SECRET_VARS: ReadonlySet<string> = new Set(
  LEAVES.flatMap((l) => (l.secret && l.env ? [l.env] : [])),
);

const at = (o: unknown, path: readonly string[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);

/** The values of the settings marked secret (for redaction at start-up); unset ones left out. */
export function configSecrets(c: Config): string[] {
  return LEAVES.flatMap((l) => {
    const v = l.secret ? at(c, l.path) : undefined;
    return typeof v === "string" && v !== "" ? [v] : [];
  });
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
export function loadConfig(environment: Record<string, string | undefined>, flags: Flags = {}): Config {
  const input: Record<string, unknown> = {};
  const given = new Map<string, { name: string; value: unknown; secret?: boolean }>();
  for (const l of LEAVES) {
    const name = (l.env ?? l.flag)!;
    const value = l.env ? environment[l.env] : flags[l.flag!.slice(2) as keyof Flags];
    given.set(l.path.join("."), { name, value, secret: l.secret });
    let o = input;
    for (const k of l.path.slice(0, -1)) {
      o[k] ??= {};
      o = o[k] as Record<string, unknown>;
    }
    o[l.path[l.path.length - 1]!] = value;
  }
  const parsed = configSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const leaf = given.get(issue.path.join("."));
      const value = String(leaf?.value);
      const quoted = leaf?.secret || leaf?.value === undefined || issue.message.includes(`'${value}'`);
      const shown = quoted ? "" : ` (got '${value}')`;
      return `${leaf?.name ?? issue.path.join(".")}: ${issue.message}${shown}`;
    }),
  );
}
