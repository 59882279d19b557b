// Downloads may only write inside the configured download roots: a request's local_dir must be one of them
// or inside one, and the model directory must stay inside local_dir once symlinks are resolved (the AIBrix
// runtime lets callers pick any directory and writes outside local_dir when model_name holds "../").
import { resolve } from "node:path";
import { AppError } from "../errors.ts";
import { isInside, shown } from "./names.ts";

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
    400,
    `${field} '${shown(localDir)}' is outside the download roots (${roots.join(", ")}); set AIRUNTIME_DOWNLOAD_ROOTS to allow it`,
  );
}

export async function checkModelRoot(localDir: string, modelRoot: string): Promise<string> {
  if (await isInside(localDir, modelRoot)) return modelRoot;
  throw new AppError("path_escape", 400, `model path '${shown(modelRoot)}' resolves outside ${localDir}`);
}
