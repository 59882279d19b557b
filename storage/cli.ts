// `airuntime download <uri>`: foreground download with a progress bar on a TTY and JSON-lines progress
// otherwise (both on stderr); the model path alone goes to stdout. Exit codes name the failure.
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import type { Config } from "../config.ts";
import { createLogger, parseLevel } from "../log.ts";
import { downloadModel, type TransferTuning, resolveTarget, useInPlace } from "./download.ts";
import { createProgressUi, summaryLine } from "./cli-progress.ts";
import { printFailure } from "../exit.ts";
import { asDownloadError, DownloadError, EXIT_CODES } from "./errors.ts";
import { fmtBytes, listFiles } from "./plan.ts";
import { createSource } from "./sources/index.ts";
import { registerSecret } from "../redact.ts";
import { setTraceSink } from "../lib/trace.ts";
import { parseFlagsOrExit, usageErrorText } from "../flags.ts";
import { ExtraConfig, extraCredentials } from "./extra-config.ts";
import { parseUri, refuseBucketRoot } from "./uri.ts";
import type { Credentials } from "./types.ts";

export const DOWNLOAD_USAGE = `usage: airuntime download <uri> [--local-dir D] [--model-name N] [--revision R]
                          [--include GLOB]... [--exclude GLOB]... [--token T] [--force] [--offline]
                          [--dry-run] [--quiet] [--in-place] [--allow-bucket-root] [--no-sign-request]
       airuntime download <uri> <dest>      (KServe storage-initializer convention: files land in <dest>)

Download a model (or any artifact) and print its local path on stdout.
URIs: s3://bucket/prefix, tos://, gs://|gcs://, hf://org/name[@rev], huggingface://org/name, org/name,
http(s)://host/file, /abs/path or file:///abs/path. Credentials and tuning come from the environment
(AWS_*, TOS_*, GCS_*, HF_TOKEN, HF_ENDPOINT, DOWNLOADER_NUM_THREADS, DOWNLOADER_PART_CHUNKSIZE, ...).

  --local-dir D    root directory (default DOWNLOADER_LOCAL_DIR, /tmp/aibrix/models/)
  --model-name N   directory name under the root (default: inferred from the URI)
  --revision R     Hugging Face branch, tag or commit (default HF_REVISION or main)
  --include GLOB   only files matching (repeatable; alias --allow)
  --exclude GLOB   skip files matching (repeatable; alias --ignore)
  --token T        Hugging Face token (instead of HF_TOKEN; never printed)
  --force          download again even if the model is complete
  --offline        do not ask the source whether a complete model's revision moved (fail if incomplete)
  --dry-run        print the plan (files, sizes, revision, destination) and download nothing
  -q, --quiet      no progress and no summary (failures still print)
  --in-place       local paths only: use the directory where it is (nothing copied) and print its path
  --allow-bucket-root  allow s3://bucket (no path): download the whole bucket (refused otherwise)
  --no-sign-request  s3://, gs://: unauthenticated requests for a public bucket (AIRUNTIME_S3_ANONYMOUS,
                     AIRUNTIME_GCS_ANONYMOUS)

exit codes: 0 ok, 2 bad URI or usage, 3 missing credentials, 4 auth refused, 5 not found, 6 no space,
            7 verification failed, 8 network (after the retries), 9 source changed repeatedly,
            13 TLS certificate refused, 14 endpoint unreachable (connection refused, unknown host: not
            retried), 15 request rejected (HTTP 400/405/410 and other 4xx: not retried), 16 local I/O
            (a directory that cannot be written: the message names the path, the uid and the fix),
            1 unexpected error, 130 interrupted, 78 bad config`;

/** The Config from the environment (main.ts reads it), or the exit status when it is invalid. */
export type ConfigOrExit = () => Config | number;

export async function runDownloadCommand(args: string[], configOrExit: ConfigOrExit): Promise<number> {
  const parsed = parseFlagsOrExit(
    args,
    {
      "local-dir": { type: "string" },
      "model-name": { type: "string" },
      revision: { type: "string" },
      allow: { type: "string", multiple: true },
      ignore: { type: "string", multiple: true },
      include: { type: "string", multiple: true },
      exclude: { type: "string", multiple: true },
      token: { type: "string" },
      force: { type: "boolean" },
      offline: { type: "boolean" },
      "dry-run": { type: "boolean" },
      quiet: { type: "boolean", short: "q" },
      "in-place": { type: "boolean" },
      "allow-bucket-root": { type: "boolean" },
      "no-sign-request": { type: "boolean" },
    },
    DOWNLOAD_USAGE,
    "airuntime download",
  );
  if (typeof parsed === "number") return parsed;
  const v = parsed.values as Record<string, string | string[] | boolean | undefined>;
  const [uri, dest, ...more] = parsed.positionals;
  if (uri === undefined || more.length > 0 || (dest !== undefined && (v["local-dir"] || v["model-name"]))) {
    process.stderr.write(
      usageErrorText(
        "airuntime download",
        "expected <uri> or <uri> <dest> (not with --local-dir/--model-name)",
      ),
    );
    return 2;
  }
  const loaded = configOrExit();
  if (typeof loaded === "number") return loaded;
  const anonymous = v["no-sign-request"] ? anonymousConfig(loaded) : loaded;
  // --token: this run's Hugging Face token (registered as a secret: never logged).
  const config = typeof v.token === "string" ? withHfToken(anonymous, v.token) : anonymous;
  return runDownload(config, {
    uri,
    root: dest === undefined ? undefined : absolute(dest),
    localDir: (v["local-dir"] as string | undefined) ?? config.downloader.localDir,
    modelName: v["model-name"] as string | undefined,
    revision: v.revision as string | undefined,
    allow: joined(v.allow, v.include),
    ignore: joined(v.ignore, v.exclude),
    force: v.force as boolean | undefined,
    offline: v.offline as boolean | undefined,
    dryRun: v["dry-run"] as boolean | undefined,
    quiet: v.quiet as boolean | undefined,
    inPlace: v["in-place"] as boolean | undefined,
    allowBucketRoot: v["allow-bucket-root"] as boolean | undefined,
    exitCode: (e) => (e instanceof DownloadError ? EXIT_CODES[e.reason] : 1),
    command: "airuntime download",
  });
}

const joined = (a: unknown, b: unknown): string[] | undefined => {
  const all = [...((a as string[] | undefined) ?? []), ...((b as string[] | undefined) ?? [])];
  return all.length > 0 ? all : undefined;
};

function withHfToken(c: Config, token: string): Config {
  registerSecret(token);
  return { ...c, hf: { ...c.hf, token } };
}

/** --no-sign-request: no credentials of any kind are looked up or sent to S3 or GCS. */
function anonymousConfig(c: Config): Config {
  return { ...c, aws: { ...c.aws, anonymous: true }, gcs: { ...c.gcs, anonymous: true } };
}

const absolute = (p: string) => (p.startsWith("/") ? p : `${process.cwd()}/${p}`);

interface RunOptions {
  uri: string;
  /** Files land directly in this directory (KServe's <dest>) instead of <localDir>/<modelName>. */
  root?: string;
  localDir: string;
  modelName?: string;
  revision?: string;
  allow?: string[];
  ignore?: string[];
  force?: boolean;
  offline?: boolean;
  dryRun?: boolean;
  quiet?: boolean;
  inPlace?: boolean;
  allowBucketRoot?: boolean;
  credentials?: Credentials;
  allowSuffix?: string[];
  tuning?: Partial<TransferTuning>;
  /** The process exit status for a failure. */
  exitCode(e: unknown): number;
  /** Names the program on a terminal's error line. */
  command: string;
}

async function runDownload(config: Config, o: RunOptions): Promise<number> {
  const tty = process.stderr.isTTY === true;
  const level = parseLevel(config.logLevel);
  const ui = createProgressUi({
    tty,
    // Off a terminal progress and the summary are info-level log lines: LOG_LEVEL=warning/error hides them.
    quiet: o.quiet === true || (!tty && (level === "warn" || level === "error")),
    columns: () => process.stderr.columns,
    write: (s) => void process.stderr.write(s),
    verbose: level === "debug",
  });
  // On a terminal the log lines that matter (resuming, retries, warnings) become human lines between bar
  // redraws; elsewhere they stay JSON lines.
  const log = createLogger({
    level: tty && level !== "debug" ? "info" : level,
    base: { app: "airuntime", cmd: "download" },
    sink: (line) => ui.logLine(line),
  });
  if (level === "debug") setTraceSink((t) => log.debug("outbound call", { ...t }));
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const started = performance.now();
  try {
    const parsedUri = parseUri(o.uri);
    refuseBucketRoot(parsedUri, o.allowBucketRoot);
    if (o.inPlace) {
      const r = await useInPlace(parsedUri, config, o.credentials, ac.signal);
      log.info("used in place", { path: r.path, files: r.files, bytes: r.bytes });
      process.stdout.write(`${r.path}\n`);
      return 0;
    }
    // With <dest> (KServe) the trusted base is its parent, as for fetchToDir's staging.
    const localDir = o.root !== undefined ? dirname(o.root) : absolute(o.localDir);
    const where = { uri: parsedUri, localDir, root: o.root, modelName: o.modelName, revision: o.revision };
    const filters = {
      allow: o.allow,
      ignore: o.ignore,
      allowSuffix: o.allowSuffix ?? config.downloader.allowFileSuffix,
    };
    if (o.dryRun) {
      const target = resolveTarget({ ...where, layout: config.downloader.layout });
      const source = createSource(target.uri, config, o.credentials);
      const files = await listFiles(source, target.uri, filters, ac.signal);
      const total = files.reduce((n, f) => n + f.size, 0);
      const commit = source.pinnedRevision?.(target.uri);
      for (const f of files) process.stdout.write(`${fmtBytes(f.size).padStart(10)}  ${f.path}\n`);
      process.stdout.write(
        `${files.length} file${files.length === 1 ? "" : "s"}, ${fmtBytes(total)}${commit ? ` at ${commit}` : ""} -> ${target.layout.modelPath(commit)} (dry run: nothing downloaded)\n`,
      );
      return 0;
    }
    const r = await downloadModel({
      ...where,
      ...filters,
      force: o.force || config.downloader.forceDownload,
      offline: o.offline,
      checkExisting: config.downloader.checkFileExist,
      layout: config.downloader.layout,
      settings: config,
      credentials: o.credentials,
      tuning: { ...config.downloader.tuning, ...o.tuning },
      signal: ac.signal,
      log,
      onProgress: (p) => ui.progress(p),
    });
    const seconds = (performance.now() - started) / 1000;
    ui.say(
      r.alreadyComplete
        ? `already complete${r.commit ? ` at ${r.commit}` : ""}: ${r.files} file${r.files === 1 ? "" : "s"}, ${fmtBytes(r.bytes)} in ${r.path}`
        : summaryLine(r, seconds, config.downloader.tuning.verify !== false),
    );
    process.stdout.write(`${r.path}\n`);
    return 0;
  } catch (e) {
    ui.clear();
    const err = asDownloadError(e);
    const exitCode = o.exitCode(err);
    printFailure(
      { reason: err.reason, exitCode, message: `${err.reason}: ${err.message}` },
      { prefix: o.command },
    );
    return exitCode;
  }
}

export const AIBRIX_DOWNLOAD_USAGE = `usage: aibrix_download --model-uri URI [--local-dir D] [--model-name N]
                       [--download-extra-config JSON] [--enable-progress-bar]
       aibrix_download URI [--local-dir D] [--model-name N]      (as airuntime download <uri>)

The AIBrix downloader's command line (python -m aibrix.downloader), served by airuntime: downloads into
<local-dir>/<model-name>/ with AIBrix's .cache/<source>/download layout and prints the model path.

  --model-uri URI               s3://bucket/path, tos://bucket/path, org/name (Hugging Face), and
                                everything 'airuntime download' accepts
  --local-dir D                 root directory (default DOWNLOADER_LOCAL_DIR, /tmp/aibrix/models/)
  --model-name N                directory name (default: the last path segment, or org/name)
  --download-extra-config JSON  AIBrix's DownloadExtraConfig: ak, sk, endpoint, region, hf_endpoint,
                                hf_token, hf_revision, num_threads, part_chunksize, allow_file_suffix,
                                force_download (+ airuntime's allow_bucket_root, in_place)
  --enable-progress-bar         accepted; the bar is drawn whenever stderr is a terminal

exit status (as AIBrix's Python CLI): 0 downloaded, 1 the download failed, 2 bad flags or arguments`;

/** `aibrix_download` (argv0) with AIBrix's flags, layout and exit status (1 for any failure). */
export async function runAibrixDownload(args: string[], configOrExit: ConfigOrExit): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        "model-uri": { type: "string" },
        "local-dir": { type: "string" },
        "model-name": { type: "string" },
        "download-extra-config": { type: "string" },
        "enable-progress-bar": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    process.stderr.write(`aibrix_download: error: ${(e as Error).message}\n\n${AIBRIX_DOWNLOAD_USAGE}\n`);
    return 2;
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) {
    process.stdout.write(`${AIBRIX_DOWNLOAD_USAGE}\n`);
    return 0;
  }
  const positional = parsed.positionals;
  const uri = (v["model-uri"] as string | undefined) ?? positional[0];
  if (!uri || positional.length > 1 || (positional.length === 1 && v["model-uri"] !== undefined)) {
    process.stderr.write(
      `aibrix_download: error: give the model URI once (--model-uri URI or URI)\n\n${AIBRIX_DOWNLOAD_USAGE}\n`,
    );
    return 2;
  }
  let extra: ExtraConfig = {};
  if (v["download-extra-config"] !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(v["download-extra-config"] as string);
    } catch (e) {
      process.stderr.write(
        `aibrix_download: error: --download-extra-config is not JSON: ${(e as Error).message}\n`,
      );
      return 2;
    }
    const r = ExtraConfig.safeParse(json);
    if (!r.success) {
      const what = r.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ");
      process.stderr.write(`aibrix_download: error: --download-extra-config: ${what}\n`);
      return 2;
    }
    extra = r.data;
  }
  const config = configOrExit();
  if (typeof config === "number") return config;
  return runDownload(config, {
    uri,
    localDir: (v["local-dir"] as string | undefined) ?? config.downloader.localDir,
    modelName: v["model-name"] as string | undefined,
    revision: extra.hf_revision,
    force: extra.force_download,
    inPlace: extra.in_place,
    allowBucketRoot: extra.allow_bucket_root,
    credentials: extraCredentials(extra),
    allowSuffix: extra.allow_file_suffix,
    tuning: {
      ...(extra.num_threads ? { connections: extra.num_threads } : {}),
      ...(extra.part_chunksize ? { partSize: extra.part_chunksize } : {}),
    },
    exitCode: (e) => (e instanceof DownloadError && e.reason === "cancelled" ? 130 : 1),
    command: "aibrix_download",
  });
}
