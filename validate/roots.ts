// Downloads may only write inside the configured download roots: a request's local_dir must be one of them
// or inside one, and the model directory must stay inside local_dir once symlinks are resolved (the AIBrix
// runtime lets callers pick any directory and writes outside local_dir when model_name holds "../").
import { constants } from "node:fs";
import { lstat, mkdir, stat } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { AppError } from "../errors.ts";
import { isInside, relativeWithin, shown } from "./names.ts";

async function equalOrInside(root: string, p: string): Promise<boolean> {
  return resolve(root) === resolve(p) || (await isInside(root, p));
}

export async function checkLocalDir(
  localDir: string,
  roots: readonly string[],
  field = "local_dir",
): Promise<string> {
  for (const root of roots) if (await equalOrInside(root, localDir)) return localDir;
  throw new AppError(
    "path_outside_roots",
    `${field} '${shown(localDir)}' is outside the download roots (${roots.join(", ")}); set AIRUNTIME_DOWNLOAD_ROOTS to allow it`,
  );
}

export async function checkModelRoot(localDir: string, modelRoot: string): Promise<string> {
  if (await isInside(localDir, modelRoot)) return modelRoot;
  throw new AppError("path_escape", `model path '${shown(modelRoot)}' resolves outside ${localDir}`);
}

// ---------------------------------------------------------------------------------------------------------
// Trees on a shared volume: another container may plant or swap symlinks at any level. A tree is opened on
// a trusted base (a configured root, resolved once) and a root inside it; every directory level below the
// base is created one level at a time and lstat'ed (a symlink or a non-directory is refused, never
// followed), files are opened with O_NOFOLLOW, and the root's identity (dev+ino) is re-checked on demand
// (before publishing). Nothing here follows a link below the base.

export const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

type Fail = (message: string) => Error;
const pathEscape: Fail = (m) => new AppError("path_escape", m);

export interface DirTree {
  /** The root (lexical path). */
  readonly root: string;
  /** Create (or walk) directory `p` inside the root, one level at a time, refusing links; returns `p`. */
  dir(p: string): Promise<string>;
  /** Walk the existing directory levels above `p` (nothing created), refusing links; returns `p`. */
  check(p: string): Promise<string>;
  /** The root is still the directory the tree was opened on (same dev+ino, not a link). */
  verify(): Promise<void>;
}

function levels(root: string, p: string): string[] | null {
  const rel = relativeWithin(root, p);
  if (rel === null) return null;
  return rel === "" ? [] : rel.split(sep);
}

/** lstat `p` as a real directory (created first when `create`); null when absent and not created. */
async function realDir(p: string, create: boolean, fail: Fail): Promise<{ dev: number; ino: number } | null> {
  if (create)
    await mkdir(p).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "EEXIST") throw e;
    });
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(p);
  } catch (e) {
    if (!create && (e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  if (st.isSymbolicLink())
    throw fail(`'${shown(p, 200)}' is a symbolic link; links on the shared volume are never followed`);
  if (!st.isDirectory()) throw fail(`'${shown(p, 200)}' is not a directory`);
  return { dev: Number(st.dev), ino: Number(st.ino) };
}

/**
 * Open (creating unless `create: false`) the directory `root` inside the trusted `base`. Every level from
 * base to root must be a real directory. `fail` builds the error thrown for a link or a foreign object.
 */
export async function openTree(
  base: string,
  root: string,
  opts: { create?: boolean; fail?: Fail } = {},
): Promise<DirTree> {
  const fail = opts.fail ?? pathEscape;
  const b = resolve(base);
  const r = resolve(root);
  const segs = levels(b, r);
  if (!segs) throw fail(`'${shown(root, 200)}' is outside ${base}`);
  const create = opts.create !== false;
  if (create) await mkdir(b, { recursive: true });
  let cur = b;
  for (const s of segs) {
    cur = join(cur, s);
    if (!(await realDir(cur, create, fail))) throw fail(`'${shown(root, 200)}' does not exist`);
  }
  const st = await stat(r);
  const id = { dev: Number(st.dev), ino: Number(st.ino) };
  const verify = async () => {
    const now = await realDir(r, false, fail);
    if (!now || now.dev !== id.dev || now.ino !== id.ino)
      throw fail(`'${shown(root, 200)}' was replaced by another directory; nothing was published there`);
  };
  const walk = async (p: string, mk: boolean) => {
    const segs2 = levels(r, resolve(p));
    if (!segs2) throw fail(`'${shown(p, 200)}' is outside ${root}`);
    await verify();
    let c = r;
    for (const s of segs2) {
      c = join(c, s);
      if (!(await realDir(c, mk, fail))) return;
    }
  };
  return {
    root: r,
    async dir(p) {
      await walk(p, true);
      return p;
    },
    async check(p) {
      await walk(dirname(resolve(p)), false);
      return p;
    },
    verify,
  };
}
