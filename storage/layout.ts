// Where a model's files, partial files, journals, metadata, locks and markers live.
//   aibrix:   <local_dir>/<model_name>/<path>, with .cache/<source>/download/<path>.lock|.metadata (AIBrix
//             tooling reads these), plus our model-level marker .cache/<source>/download/.complete.json,
//             lock .model.lock, .status.json.
//   hf-cache: <local_dir>/models--org--name/{blobs/<digest>, snapshots/<commit>/<path> -> ../../blobs/<digest>,
//             refs/<revision>} so engines start with HF_HUB_OFFLINE=1; our state under .airuntime/.
// Partial files and their journals are staged in <state>/partial/<sha256 of the path>.part(.journal): the
// listing never reaches there (paths under .cache/ are filtered out; hf-cache publishes only under
// snapshots/ and blobs/<hex digest>), so a listed `w.part` can never collide with the partial of `w`.
// Names from the source are data: a hub's blob name is used only when it is a hex digest of the right
// length (40 for git SHA-1, 64 for SHA-256).
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DownloadError } from "./errors.ts";
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
  /** Where partial files and journals are staged. */
  partialDir: string;
  marker: string;
  modelLock: string;
  statusFile: string;
  files(f: RemoteFile, commit?: string): FilePaths;
  /** hf-cache: refs/<revision> file, written last. */
  ref?(revision: string): string;
}

/** `<dir>/<sha256(path)>.part` and its journal: names no listed path can take. */
function staged(dir: string, path: string): { part: string; journal: string } {
  const key = createHash("sha256").update(path).digest("hex").slice(0, 40);
  return { part: join(dir, `${key}.part`), journal: join(dir, `${key}.part.journal`) };
}

/** The downloader's own files in `state`, the same in both layouts. */
const stateFiles = (state: string) => ({
  stateDir: state,
  partialDir: join(state, "partial"),
  marker: join(state, ".complete.json"),
  modelLock: join(state, ".model.lock"),
  statusFile: join(state, ".status.json"),
});

export function aibrixLayout(root: string, source: string): Layout {
  const state = join(root, ".cache", source, "download");
  const partial = join(state, "partial");
  return {
    kind: "aibrix",
    root,
    modelPath: () => root,
    ...stateFiles(state),
    files: (f) => ({
      final: join(root, f.path),
      ...staged(partial, f.path),
      metadata: join(state, `${f.path}.metadata`),
      lock: join(state, `${f.path}.lock`),
    }),
  };
}

export const hfRepoFolder = (repo: string) => `models--${repo.replace(/\//g, "--")}`;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const SHA1_HEX = /^[0-9a-f]{40}$/;

/** The blob name of a hub file: its SHA-256 (LFS) or git SHA-1, only when it is a hex digest. */
export function blobName(f: RemoteFile): string {
  if (f.sha256 !== undefined) {
    if (SHA256_HEX.test(f.sha256)) return f.sha256;
  } else if (f.gitSha1 !== undefined && SHA1_HEX.test(f.gitSha1)) return f.gitSha1;
  const got = JSON.stringify(f.sha256 ?? f.gitSha1 ?? null).slice(0, 80);
  throw new DownloadError(
    "verification",
    `the hub lists '${f.path}' with object id ${got}, not a hex SHA-256 (64) or git SHA-1 (40); refused as a blob name`,
  );
}

export function hfCacheLayout(cacheDir: string, repo: string): Layout {
  const root = join(cacheDir, hfRepoFolder(repo));
  const state = join(root, ".airuntime");
  const partial = join(state, "partial");
  return {
    kind: "hf-cache",
    root,
    modelPath: (commit) => join(root, "snapshots", commit ?? "unknown"),
    ...stateFiles(state),
    files: (f, commit) => {
      const blob = join(root, "blobs", blobName(f));
      return {
        final: blob,
        ...staged(partial, f.path),
        metadata: join(state, "meta", `${f.path}.metadata`),
        lock: join(state, "meta", `${f.path}.lock`),
        link: join(root, "snapshots", commit ?? "unknown", f.path),
      };
    },
    ref: (revision) => join(root, "refs", revision),
  };
}
