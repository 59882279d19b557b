// Atomic file write: the content goes to a fresh temp file beside the target (created exclusively, so
// never through a planted link), is fsynced, renamed over the target, then the directory is fsynced.
// A reader sees the old file or the new one, never a partial one. Callers that own a checked directory
// tree (storage/, lifecycle/) pass `dir` (create/check the parent level by level) and `explain` (turn a
// failure into the better error, e.g. "a level became a symbolic link"; it may throw that error).
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: {
    mode?: number;
    dirMode?: number;
    dir?: (dir: string) => Promise<unknown>;
    explain?: (e: unknown) => Promise<unknown>;
  } = {},
): Promise<void> {
  const dir = dirname(path);
  await (opts.dir ? opts.dir(dir) : mkdir(dir, { recursive: true, mode: opts.dirMode ?? 0o700 }));
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx", opts.mode ?? 0o600).catch(async (e) => {
    await opts.explain?.(e);
    throw e;
  });
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    await opts.explain?.(e);
    throw e;
  }
  const d = await open(dir, "r");
  try {
    await d.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await d.close();
  }
}
