// Content verification that overlaps the download: finished parts are hashed in file order by re-reading
// the contiguous prefix from the page cache, so SHA-256 / git SHA-1 / MD5 are ready soon after the last byte.
import { createHash, type Hash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { DownloadError } from "./errors.ts";
import type { RemoteFile } from "./types.ts";

const READ_CHUNK = 8 * 1024 * 1024;

export interface Verifier {
  /** Bytes [start, end) are on disk. */
  rangeDone(start: number, end: number): void;
  /** Wait for the hash of the whole file and compare; throws `verification` on mismatch. */
  finish(): Promise<void>;
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

export function createVerifier(file: RemoteFile, fh: FileHandle, opts: { hash: boolean }): Verifier {
  const exp = opts.hash ? expectedFor(file) : null;
  const ranges: Array<[number, number]> = [];
  let cursor = 0;
  let hash: Hash | null = null;
  if (exp) {
    hash = createHash(exp.algorithm);
    if (exp.prefix) hash.update(exp.prefix);
  }
  let running: Promise<void> | null = null;
  let failure: unknown = null;
  const buf = exp ? Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(1, file.size))) : null;

  const contiguousEnd = () => {
    ranges.sort((a, b) => a[0] - b[0]);
    let end = cursor;
    for (const [s, e] of ranges) {
      if (s > end) break;
      if (e > end) end = e;
    }
    // drop ranges fully behind the cursor-to-be
    return end;
  };

  async function pump(): Promise<void> {
    for (;;) {
      const end = contiguousEnd();
      if (end <= cursor) return;
      while (cursor < end) {
        const n = Math.min(buf!.length, end - cursor);
        const { bytesRead } = await fh.read(buf!, 0, n, cursor);
        if (bytesRead <= 0) throw new DownloadError("verification", `${file.path}: short read while hashing`);
        hash!.update(buf!.subarray(0, bytesRead));
        cursor += bytesRead;
      }
      for (let i = ranges.length - 1; i >= 0; i--) if (ranges[i]![1] <= cursor) ranges.splice(i, 1);
    }
  }

  const kick = () => {
    if (!exp || running || failure) return;
    running = pump()
      .catch((e) => {
        failure = e;
      })
      .finally(() => {
        running = null;
        if (!failure && contiguousEnd() > cursor) kick();
      });
  };

  return {
    algorithm: exp?.algorithm ?? null,
    rangeDone(start, end) {
      if (!exp || end <= start) return;
      ranges.push([start, end]);
      kick();
    },
    async finish() {
      if (!exp) return;
      while (running) await running;
      if (failure) throw failure;
      if (cursor < file.size) {
        kick();
        while (running) await running;
        if (failure) throw failure;
      }
      if (cursor !== file.size)
        throw new DownloadError(
          "verification",
          `${file.path}: only ${cursor} of ${file.size} bytes could be hashed`,
        );
      const got = hash!.digest("hex");
      if (got !== exp.hex)
        throw new DownloadError(
          "verification",
          `${file.path}: ${exp.algorithm === "sha1" ? "git blob SHA-1" : exp.algorithm.toUpperCase()} mismatch (expected ${exp.hex}, got ${got}); the partial file was deleted`,
        );
    },
  };
}
