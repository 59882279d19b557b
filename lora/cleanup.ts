// Which adapter files the sidecar may delete: only a directory it downloaded itself, exactly where it
// recorded it (the record's path, which honours local_dir), when that is still a real directory (not a
// link) inside the adapters dir. Adapters loaded from a direct path or a local artifact are never touched,
// and neither is `<adapters>/<name>` when the download went elsewhere (issue 12, F12).
import { lstat, rm } from "node:fs/promises";
import { isInside } from "../validate/names.ts";
import type { AdapterRecord } from "./store.ts";

/** Delete `rec`'s downloaded directory when the rules above allow it; true when something was removed. */
export async function removeDownloaded(adaptersDir: string, rec: AdapterRecord): Promise<boolean> {
  if (!rec.downloaded) return false;
  const st = await lstat(rec.path).catch(() => null);
  if (!st?.isDirectory() || !(await isInside(adaptersDir, rec.path))) return false;
  await rm(rec.path, { recursive: true, force: true });
  return true;
}
