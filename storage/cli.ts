// `airuntime download <uri>`: foreground download with a progress bar on a TTY and JSON-lines progress
// otherwise (both on stderr); the model path alone goes to stdout. Exit codes name the failure.
import { parseArgs } from "node:util";
import { type Config, ConfigError, loadConfig } from "../config.ts";
import { createLogger, parseLevel } from "../log.ts";
import { environment } from "../platform/process.ts";
import { downloadModel, type EngineTuning, useInPlace } from "./download.ts";
import { DownloadError, EXIT_CODES } from "./errors.ts";
import { fmtBytes } from "./plan.ts";
import { parseUri } from "./uri.ts";
import type { DownloadProgress } from "./types.ts";

export const DOWNLOAD_USAGE = `usage: airuntime download <uri> [--local-dir D] [--model-name N] [--revision R]
                          [--allow GLOB]... [--ignore GLOB]... [--force] [--in-place]

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

exit codes: 0 ok, 2 bad URI or usage, 3 missing credentials, 4 auth refused, 5 not found, 6 no space,
            7 verification failed, 8 network (after the retries), 9 source changed repeatedly,
            13 TLS certificate refused, 14 endpoint unreachable (connection refused, unknown host: not
            retried), 15 request rejected (HTTP 400/405/410 and other 4xx: not retried), 130 interrupted,
            78 bad config`;

export function tuningFromConfig(c: Config): Partial<EngineTuning> {
  return {
    // Unset: the engine's automatic ceiling (DEFAULT_TUNING.connections) applies.
    ...(c.downloader.numThreads !== undefined ? { connections: c.downloader.numThreads } : {}),
    startConnections: c.downloader.startConnections,
    partSize: c.downloader.partSize,
    stallMs: c.downloader.stallMs,
    maxRetries: c.downloader.maxRetries,
    verify: c.downloader.verify,
    fsync: c.downloader.fsync,
  };
}

export async function runDownloadCommand(args: string[]): Promise<number> {
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
  if (parsed.positionals.length !== 1) {
    process.stderr.write(`airuntime download: expected exactly one URI\n\n${DOWNLOAD_USAGE}\n`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig(environment());
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`airuntime: ${e.message}\n`);
      return 78;
    }
    throw e;
  }
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
  const localDir = (v["local-dir"] as string | undefined) ?? config.downloader.localDir;
  try {
    if (v["in-place"]) {
      const r = await useInPlace(parseUri(parsed.positionals[0]!), config, undefined, ac.signal);
      log.info("used in place", { path: r.path, files: r.files, bytes: r.bytes });
      process.stdout.write(`${r.path}\n`);
      return 0;
    }
    const r = await downloadModel({
      uri: parsed.positionals[0]!,
      localDir: localDir.startsWith("/") ? localDir : `${process.cwd()}/${localDir}`,
      modelName: v["model-name"] as string | undefined,
      revision: v.revision as string | undefined,
      allow: v.allow as string[] | undefined,
      ignore: v.ignore as string[] | undefined,
      allowSuffix: config.downloader.allowFileSuffix,
      force: (v.force as boolean | undefined) || config.downloader.forceDownload,
      checkExisting: config.downloader.checkFileExist,
      layout: config.downloader.layout,
      settings: config,
      tuning: tuningFromConfig(config),
      signal: ac.signal,
      log,
      onProgress: (p) => (tty ? drawBar(p) : log.info("progress", { ...p })),
    });
    if (tty) process.stderr.write("\n");
    process.stdout.write(`${r.path}\n`);
    return 0;
  } catch (e) {
    if (tty) process.stderr.write("\n");
    const err = e instanceof DownloadError ? e : null;
    process.stderr.write(`airuntime download: ${err ? `${err.reason}: ` : ""}${(e as Error).message}\n`);
    return err ? EXIT_CODES[err.reason] : 1;
  }
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
