// Where a model's files, partial files, journals, metadata, locks and markers live.
//   aibrix:   <local_dir>/<model_name>/<path>, <path>.part, <path>.part.journal and
//             .cache/<source>/download/<path>.lock|.metadata (AIBrix tooling reads these), plus our
//             model-level marker .cache/<source>/download/.complete.json, lock .model.lock, .status.json.
//   hf-cache: <local_dir>/models--org--name/{blobs/<etag>, snapshots/<commit>/<path> -> ../../blobs/<etag>,
//             refs/<revision>} so engines start with HF_HUB_OFFLINE=1; our state under .airuntime/.
import { join } from "node:path";
import type { RemoteFile } from "./types.ts";

export interface FilePaths {
  final: string;
  part: string;
  journal: string;
  metadata: string;
  /** AIBrix per-file lock (kept for its status tooling; our real lock is the model lock). */
  lock: string;
  /** hf-cache: the snapshot symlink to create after publishing the blob. */
  link?: string;
}

export interface Layout {
  kind: "aibrix" | "hf-cache";
  /** Model root (`model_root_path`). */
  root: string;
  /** Where the engine should load from. */
  modelPath(commit?: string): string;
  stateDir: string;
  marker: string;
  modelLock: string;
  statusFile: string;
  files(f: RemoteFile, commit?: string): FilePaths;
  /** hf-cache: refs/<revision> file, written last. */
  ref?(revision: string): string;
}

export function aibrixLayout(root: string, source: string): Layout {
  const state = join(root, ".cache", source, "download");
  return {
    kind: "aibrix",
    root,
    modelPath: () => root,
    stateDir: state,
    marker: join(state, ".complete.json"),
    modelLock: join(state, ".model.lock"),
    statusFile: join(state, ".status.json"),
    files: (f) => ({
      final: join(root, f.path),
      part: join(root, `${f.path}.part`),
      journal: join(root, `${f.path}.part.journal`),
      metadata: join(state, `${f.path}.metadata`),
      lock: join(state, `${f.path}.lock`),
    }),
  };
}

export const hfRepoFolder = (repo: string) => `models--${repo.replace(/\//g, "--")}`;

export function hfCacheLayout(cacheDir: string, repo: string): Layout {
  const root = join(cacheDir, hfRepoFolder(repo));
  const state = join(root, ".airuntime");
  return {
    kind: "hf-cache",
    root,
    modelPath: (commit) => join(root, "snapshots", commit ?? "unknown"),
    stateDir: state,
    marker: join(state, ".complete.json"),
    modelLock: join(state, ".model.lock"),
    statusFile: join(state, ".status.json"),
    files: (f, commit) => {
      const blob = join(root, "blobs", f.etag ?? f.sha256 ?? f.gitSha1 ?? f.path.replace(/\//g, "--"));
      return {
        final: blob,
        part: `${blob}.part`,
        journal: `${blob}.part.journal`,
        metadata: join(state, "meta", `${f.path}.metadata`),
        lock: join(state, "meta", `${f.path}.lock`),
        link: join(root, "snapshots", commit ?? "unknown", f.path),
      };
    },
    ref: (revision) => join(root, "refs", revision),
  };
}
