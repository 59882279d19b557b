// Before a download is accepted: can this process write where the model goes, and is there room at all?
// Checked at the nearest directory that exists (nothing is created, so a refused request leaves nothing),
// by creating and removing one empty file, as the download itself would. A failure is `local_io` (the
// path, the uid and the fix) or `no_space`; the size check of the planned files happens once they are listed.
import { randomBytes } from "node:crypto";
import { open, rm, stat, statfs } from "node:fs/promises";
import { dirname } from "node:path";
import { asDownloadError, DownloadError } from "./errors.ts";
import { fmtBytes } from "./plan.ts";

/** Below this much free space nothing can be downloaded (a model's config alone needs some room). */
export const MIN_FREE_BYTES = 16 * 1024 * 1024;

export async function checkWritableTarget(root: string, minFree = MIN_FREE_BYTES): Promise<void> {
  let dir = root;
  for (;;) {
    const st = await stat(dir).catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? null : e));
    if (st instanceof Error) throw asDownloadError(st);
    if (st) {
      if (!st.isDirectory())
        throw asDownloadError(
          Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${root}'`), {
            code: "ENOTDIR",
            path: dir,
          }),
        );
      break;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const probe = `${dir}/.airuntime-write-check-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    const fh = await open(probe, "wx");
    await fh.close();
  } catch (e) {
    throw asDownloadError(Object.assign(e as object, { path: dir }));
  } finally {
    await rm(probe, { force: true }).catch(() => {});
  }
  const fs = await statfs(dir);
  const free = Number(fs.bavail) * Number(fs.bsize);
  if (free < minFree)
    throw new DownloadError(
      "no_space",
      `the volume holding ${dir} is full (${fmtBytes(free)} free); free some space or choose another directory`,
    );
}
