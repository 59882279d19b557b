// Model status on disk, so /v1/model/list and /status survive restarts and agree across processes:
//   downloaded  only when the model-level completion marker exists (an empty directory is not, B11);
//   downloading while a live process holds the model lock;
//   failed      when the last attempt recorded a failure (reason + message);
//   interrupted while no process holds the lock and the last one stopped during the download (a shutdown);
//   no_operation for a directory left by a download that stopped without a word (killed).
import { writeFileAtomic } from "../lib/atomic-write.ts";
import { readdir, readFile, stat } from "node:fs/promises";
import type { DirTree } from "../validate/roots.ts";
import { join, relative } from "node:path";
import { aibrixLayout, type Layout } from "./layout.ts";
import { isLockHeld } from "./lock.ts";
import type { DownloadProgress } from "./types.ts";

export type ModelStatus =
  | "downloaded"
  | "downloading"
  | "failed"
  | "interrupted"
  | "no_operation"
  | "not_exist";

/** What it takes to start a download again (written by the API; never holds credentials). */
export interface ResumeInfo {
  model_uri: string;
  local_dir: string;
  model_name: string;
  revision?: string;
  allow_file_suffix?: string[];
  num_threads?: number;
  part_chunksize?: number;
  /** The request carried its own credentials, which are never stored: only a new request can resume it. */
  needs_credentials: boolean;
}

export interface StatusRecord {
  model_name: string;
  model_root_path: string;
  source: string;
  uri: string;
  /** interrupted: the process stopped during the download (the parts stay; it resumes, see `resume`). */
  status: "downloading" | "downloaded" | "failed" | "interrupted";
  resume?: ResumeInfo;
  progress?: DownloadProgress;
  error?: { reason: string; message: string };
  /** Path the engine should load (differs from the root for the hf-cache layout). */
  model_path?: string;
  pid: number;
  updated: string;
}

export interface ModelStatusCard {
  model_name: string;
  model_root_path: string;
  source: string;
  model_status: ModelStatus;
}

/** Write the status record; every directory level is checked first (links are never followed). */
export async function writeStatus(
  layout: Layout,
  rec: Omit<StatusRecord, "pid" | "updated">,
  tree: DirTree,
): Promise<void> {
  await tree.dir(layout.stateDir);
  const body = JSON.stringify({ ...rec, pid: process.pid, updated: new Date().toISOString() });
  await writeFileAtomic(layout.statusFile, body, { mode: 0o644, dir: (d) => tree.dir(d) });
}

export async function readStatusRecord(layout: Layout): Promise<StatusRecord | null> {
  try {
    return JSON.parse(await readFile(layout.statusFile, "utf8")) as StatusRecord;
  } catch {
    return null;
  }
}

/** The path exists (following links). */
export const exists = async (p: string): Promise<boolean> => !!(await stat(p).catch(() => null));

export async function modelStatus(
  layout: Layout,
): Promise<{ status: ModelStatus; record: StatusRecord | null }> {
  const record = await readStatusRecord(layout);
  if (await exists(layout.marker)) return { status: "downloaded", record };
  if (await isLockHeld(layout.modelLock)) return { status: "downloading", record };
  if (!(await exists(layout.root))) return { status: "not_exist", record };
  if (record?.status === "failed") return { status: "failed", record };
  if (record?.status === "interrupted") return { status: "interrupted", record };
  return { status: "no_operation", record };
}

const SOURCES = ["s3", "tos", "gcs", "huggingface", "http", "local"];

/** Every model under localDir: AIBrix layout (<name>/.cache/<source>/download) and hf-cache repos. */
export async function listModels(
  localDir: string,
): Promise<Array<ModelStatusCard & { record: StatusRecord | null }>> {
  const found: Array<{ name: string; layout: Layout; source: string }> = [];
  async function walk(dir: string, depth: number): Promise<void> {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const names = new Set(entries.filter((e) => e.isDirectory()).map((e) => e.name));
    if (names.has(".cache") && dir !== localDir) {
      for (const src of SOURCES)
        if (await exists(join(dir, ".cache", src, "download"))) {
          found.push({ name: relative(localDir, dir), layout: aibrixLayout(dir, src), source: src });
          return;
        }
    }
    if (depth === 0 && [...names].some((n) => n.startsWith("models--"))) {
      const { hfCacheLayout } = await import("./layout.ts");
      for (const n of names)
        if (n.startsWith("models--") && (await exists(join(dir, n, ".airuntime")))) {
          const repo = n.slice("models--".length).replace(/--/g, "/");
          found.push({ name: repo, layout: hfCacheLayout(localDir, repo), source: "huggingface" });
        }
    }
    if (depth >= 3) return;
    for (const n of names)
      if (!n.startsWith(".") && !n.startsWith("models--")) await walk(join(dir, n), depth + 1);
  }
  await walk(localDir, 0);
  found.sort((a, b) => a.name.localeCompare(b.name));
  return Promise.all(
    found.map(async (f) => {
      const { status, record } = await modelStatus(f.layout);
      return {
        model_name: f.name,
        model_root_path: f.layout.root,
        source: f.source,
        model_status: status,
        record,
      };
    }),
  );
}
