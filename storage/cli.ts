// `airuntime download <uri>`: foreground download with a progress bar on a TTY and JSON-lines progress
// otherwise (both on stderr); the model path alone goes to stdout. Exit codes name the failure.
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import type { Config } from "../config.ts";
import { createLogger, parseLevel } from "../log.ts";
import { downloadModel, type EngineTuning, useInPlace } from "./download.ts";
import { printFailure } from "../exit.ts";
import { asDownloadError, DownloadError, EXIT_CODES } from "./errors.ts";
import { fmtBytes } from "./plan.ts";
import { ExtraConfig, extraCredentials } from "./extra-config.ts";
import { parseUri, refuseBucketRoot } from "./uri.ts";
import type { Credentials, DownloadProgress } from "./types.ts";

export const DOWNLOAD_USAGE = `usage: airuntime download <uri> [--local-dir D] [--model-name N] [--revision R]
                          [--allow GLOB]... [--ignore GLOB]... [--force] [--in-place] [--allow-bucket-root]
                          [--no-sign-request]
       airuntime download <uri> <dest>      (KServe storage-initializer convention: files land in <dest>)

Download a model (or any artifact) and print its local path on stdout.
URIs: s3://bucket/prefix, tos://, gs://|gcs://, hf://org/name[@rev], huggingface://org/name, org/name,
http(s)://host/file, /abs/path or file:///abs/path. Credentials and tuning come from the environment
(AWS_*, TOS_*, GCS_*, HF_TOKEN, HF_ENDPOINT, DOWNLOADER_NUM_THREADS, DOWNLOADER_PART_CHUNKSIZE, ...).

  --local-dir D    root directory (default DOWNLOADER_LOCAL_DIR, /tmp/aibrix/models/)
  --model-name N   directory name under the root (default: inferred from the URI)
  --revision R     Hugging Face branch, tag or commit (default HF_REVISION or main)
  --allow GLOB     only files matching (repeatable); --ignore GLOB skips files (repeatable)
  --force          download again even if the model is complete
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
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        "local-dir": { type: "string" },
        "model-name": { type: "string" },
        revision: { type: "string" },
        allow: { type: "string", multiple: true },
        ignore: { type: "string", multiple: true },
        force: { type: "boolean" },
        "in-place": { type: "boolean" },
        "allow-bucket-root": { type: "boolean" },
        "no-sign-request": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    process.stderr.write(`airuntime download: ${(e as Error).message}\n\n${DOWNLOAD_USAGE}\n`);
    return 2;
  }
  const v = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (v.help) {
    process.stdout.write(`${DOWNLOAD_USAGE}\n`);
    return 0;
  }
  const [uri, dest, ...more] = parsed.positionals;
  if (uri === undefined || more.length > 0 || (dest !== undefined && (v["local-dir"] || v["model-name"]))) {
    process.stderr.write(
      `airuntime download: expected <uri> or <uri> <dest> (not with --local-dir/--model-name)\n\n${DOWNLOAD_USAGE}\n`,
    );
    return 2;
  }
  const loaded = configOrExit();
  if (typeof loaded === "number") return loaded;
  const config = v["no-sign-request"] ? anonymousConfig(loaded) : loaded;
  return runDownload(config, {
    uri,
    root: dest === undefined ? undefined : absolute(dest),
    localDir: (v["local-dir"] as string | undefined) ?? config.downloader.localDir,
    modelName: v["model-name"] as string | undefined,
    revision: v.revision as string | undefined,
    allow: v.allow as string[] | undefined,
    ignore: v.ignore as string[] | undefined,
    force: v.force as boolean | undefined,
    inPlace: v["in-place"] as boolean | undefined,
    allowBucketRoot: v["allow-bucket-root"] as boolean | undefined,
    exitCode: (e) => (e instanceof DownloadError ? EXIT_CODES[e.reason] : 1),
    command: "airuntime download",
  });
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
  inPlace?: boolean;
  allowBucketRoot?: boolean;
  credentials?: Credentials;
  allowSuffix?: string[];
  tuning?: Partial<EngineTuning>;
  /** The process exit status for a failure. */
  exitCode(e: unknown): number;
  /** Names the program on a terminal's error line. */
  command: string;
}

async function runDownload(config: Config, o: RunOptions): Promise<number> {
  const tty = process.stderr.isTTY === true;
  // On a terminal the progress bar tells the story; info lines would tear it (LOG_LEVEL=debug keeps them).
  const level = parseLevel(config.logLevel);
  const log = createLogger({
    level: tty && level === "info" ? "warn" : level,
    base: { app: "airuntime", cmd: "download" },
    sink: (line) => process.stderr.write(`${line}\n`),
  });
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const parsedUri = parseUri(o.uri);
    refuseBucketRoot(parsedUri, o.allowBucketRoot);
    if (o.inPlace) {
      const r = await useInPlace(parsedUri, config, o.credentials, ac.signal);
      log.info("used in place", { path: r.path, files: r.files, bytes: r.bytes });
      process.stdout.write(`${r.path}\n`);
      return 0;
    }
    const r = await downloadModel({
      uri: parsedUri,
      // With <dest> (KServe) the trusted base is its parent, as for fetchToDir's staging.
      localDir: o.root !== undefined ? dirname(o.root) : absolute(o.localDir),
      root: o.root,
      modelName: o.modelName,
      revision: o.revision,
      allow: o.allow,
      ignore: o.ignore,
      allowSuffix: o.allowSuffix ?? config.downloader.allowFileSuffix,
      force: o.force || config.downloader.forceDownload,
      checkExisting: config.downloader.checkFileExist,
      layout: config.downloader.layout,
      settings: config,
      credentials: o.credentials,
      tuning: { ...config.downloader.tuning, ...o.tuning },
      signal: ac.signal,
      log,
      onProgress: (p) => (tty ? drawBar(p) : log.info("progress", { ...p })),
    });
    if (tty) process.stderr.write("\n");
    process.stdout.write(`${r.path}\n`);
    return 0;
  } catch (e) {
    if (tty) process.stderr.write("\n");
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

function drawBar(p: DownloadProgress): void {
  const width = 30;
  const frac = p.bytes_total > 0 ? p.bytes_done / p.bytes_total : 0;
  const filled = Math.round(frac * width);
  const eta = p.eta === null ? "--" : `${p.eta}s`;
  process.stderr.write(
    `\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(frac * 100).toFixed(1)}% ${fmtBytes(p.bytes_done)}/${fmtBytes(p.bytes_total)} ${fmtBytes(p.rate)}/s eta ${eta} files ${p.files_done}/${p.files_total} ${p.phase}   `,
  );
}
