// One name rule and one containment rule for everything that turns a request field into a path
// (AIBrix bug B17: its layers disagreed on names; #2296: symlink escapes). Reused by LoRA, downloads, secrets.
import { lstat, mkdir, realpath } from "node:fs/promises";
import { isAbsolute, normalize, relative, resolve, sep } from "node:path";
import { AppError } from "../errors.ts";

export const NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$";
const NAME_RE = new RegExp(NAME_PATTERN);

/** True when `name` is a safe single path segment (no "/", no "..", not hidden, at most 128 chars). */
export function isValidName(name: unknown): name is string {
  return typeof name === "string" && NAME_RE.test(name) && name !== "." && name !== "..";
}

/** Model names: one name, or names joined by "/" (`org/model`), each segment under the one name rule. */
export const MODEL_NAME_MAX = 256;

/** Why `name` is not a valid model name, or null when it is. */
export function modelNameProblem(name: string): string | null {
  if (name.length > MODEL_NAME_MAX) return `must be at most ${MODEL_NAME_MAX} characters`;
  const segments = name.split("/");
  if (segments.every(isValidName)) return null;
  return `each '/'-separated part must match ${NAME_PATTERN} (no leading '-' or '.', no spaces or control characters)`;
}

/**
 * True for keys that name something every plain object already has (`__proto__`, `constructor`,
 * `toString`...): such a request value must never index a lookup table.
 */
export function isReservedKey(key: string): boolean {
  return key in Object.prototype || key === "prototype";
}

/** A short, printable form of untrusted input for error messages. */
export function shown(v: string, max = 64): string {
  const s = JSON.stringify(v.length > max ? `${v.slice(0, max)}…` : v);
  return s.slice(1, -1);
}

/** Throws a 400 naming the field and the rule when `name` is not a valid name. */
export function checkName(name: string, field = "name"): string {
  if (isValidName(name)) return name;
  const s = String(name);
  throw new AppError(
    "invalid_name",
    `Invalid ${field} '${shown(s)}' (${s.length} chars): must match ${NAME_PATTERN}`,
  );
}

/** `p` relative to `root` when it is root or lies below it (compared as written), else null. */
export function relativeWithin(root: string, p: string): string | null {
  const rel = relative(root, p);
  return rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? null : rel;
}

/** Strictly below root (root itself is not inside). */
function inside(root: string, p: string): boolean {
  const rel = relativeWithin(root, p);
  return rel !== null && rel !== "";
}

/** Resolve the real path of the longest existing prefix of `p`, then append the rest (symlinks resolved). */
export async function realpathOfExistingPrefix(p: string): Promise<string> {
  const rest: string[] = [];
  let cur = p;
  for (;;) {
    try {
      const real = await realpath(cur);
      return rest.length ? resolve(real, ...rest.reverse()) : real;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      const parent = resolve(cur, "..");
      if (parent === cur) return p;
      rest.push(cur.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)));
      cur = parent;
    }
  }
}

/**
 * `<root>/<name>` for a valid name, checked to stay strictly inside `root` once symlinks are resolved
 * (an existing symlink at `<root>/<name>` that points outside, or at root itself, is refused).
 * Creates `root` when `createRoot` is set. Returns the lexical path (what the engine is told).
 */
export async function childPath(
  root: string,
  name: string,
  field = "name",
  createRoot = false,
): Promise<string> {
  checkName(name, field);
  if (createRoot) await mkdir(root, { recursive: true });
  const lexical = resolve(root, name);
  const realRoot = await realpathOfExistingPrefix(resolve(root));
  const realChild = await realpathOfExistingPrefix(lexical);
  if (!inside(realRoot, realChild))
    throw new AppError("path_escape", `${field} '${shown(name)}' resolves outside ${root}`);
  return lexical;
}

/** True when `p` (after resolving symlinks) is strictly inside `root`. */
export async function isInside(root: string, p: string): Promise<boolean> {
  const realRoot = await realpathOfExistingPrefix(resolve(root));
  const realP = await realpathOfExistingPrefix(resolve(p));
  return inside(realRoot, realP);
}

/** An absolute, normalized local path without ".." segments; 400 otherwise. */
export function checkAbsolutePath(p: string, field = "path"): string {
  if (!isAbsolute(p) || p.includes("\0"))
    throw new AppError("invalid_path", `${field} '${shown(p)}' must be an absolute path`);
  if (p.split("/").includes(".."))
    throw new AppError("invalid_path", `${field} '${shown(p)}' must not contain '..'`);
  return normalize(p);
}

/** Whether something exists at `p` (without following a final symlink's target errors). */
export async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** `<root>/<model name>` (one name or `org/model`), or null when the name breaks the rules or the path,
 *  symlinks resolved, leaves root. Lifecycle weights and cache markers are placed with it. */
export async function containedPath(root: string, modelName: string): Promise<string | null> {
  if (modelNameProblem(modelName) !== null) return null;
  const p = resolve(root, modelName);
  return (await isInside(root, p)) ? p : null;
}
