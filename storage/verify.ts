// Content verification that overlaps the download: as parts land, the contiguous prefix of the file is
// re-read from the page cache and hashed (on a worker thread when available), so SHA-256 / git SHA-1 /
// MD5 are ready soon after the last byte.
import { DownloadError } from "./errors.ts";
import { type HashJob, startLocalHash, startWorkerHash } from "./hash-worker.ts";
import type { PartFile } from "./part-file.ts";
import type { RemoteFile } from "./types.ts";

export interface Verifier {
  /** Bytes [start, end) are on disk. */
  rangeDone(start: number, end: number): void;
  /** Wait for the hash of the whole file and compare; throws `verification` on mismatch. */
  finish(): Promise<void>;
  /** Stop hashing (the file is being discarded). */
  cancel(): void;
  readonly algorithm: string | null;
}

interface Expected {
  algorithm: "sha256" | "sha1" | "md5";
  hex: string;
  prefix?: string;
}

function expectedFor(f: RemoteFile): Expected | null {
  if (f.sha256) return { algorithm: "sha256", hex: f.sha256.toLowerCase() };
  if (f.gitSha1) return { algorithm: "sha1", hex: f.gitSha1.toLowerCase(), prefix: `blob ${f.size}\0` };
  if (f.md5) return { algorithm: "md5", hex: f.md5.toLowerCase() };
  return null;
}

/** Files smaller than this are hashed in-thread (a worker round trip costs more than the hash). */
const WORKER_MIN = 8 * 1024 * 1024;

export function createVerifier(
  file: RemoteFile,
  fh: PartFile,
  path: string,
  opts: { hash: boolean },
): Verifier {
  const exp = opts.hash ? expectedFor(file) : null;
  let job: HashJob | null = null;
  if (exp)
    job =
      (file.size >= WORKER_MIN ? startWorkerHash(path, exp.algorithm, exp.prefix) : null) ??
      startLocalHash(fh, exp.algorithm, exp.prefix);
  const ranges: Array<[number, number]> = [];
  let contiguous = 0;

  return {
    algorithm: exp?.algorithm ?? null,
    rangeDone(start, end) {
      if (!job || end <= start) return;
      ranges.push([start, end]);
      ranges.sort((a, b) => a[0] - b[0]);
      let c = contiguous;
      while (ranges.length > 0 && ranges[0]![0] <= c) c = Math.max(c, ranges.shift()![1]);
      if (c > contiguous) {
        contiguous = c;
        job.advance(c);
      }
    },
    cancel() {
      job?.cancel();
    },
    async finish() {
      if (!job || !exp) return;
      if (contiguous < file.size)
        throw new DownloadError(
          "verification",
          `${file.path}: only ${contiguous} of ${file.size} bytes arrived`,
        );
      let got: { digest: string; hashed: number };
      try {
        got = await job.finish();
      } catch (e) {
        throw new DownloadError("verification", `${file.path}: hashing failed: ${(e as Error).message}`);
      }
      if (got.hashed !== file.size)
        throw new DownloadError(
          "verification",
          `${file.path}: only ${got.hashed} of ${file.size} bytes could be hashed`,
        );
      if (got.digest !== exp.hex)
        throw new DownloadError(
          "verification",
          `${file.path}: ${exp.algorithm === "sha1" ? "git blob SHA-1" : exp.algorithm.toUpperCase()} mismatch (expected ${exp.hex}, got ${got.digest}); the partial file was deleted`,
        );
    },
  };
}
