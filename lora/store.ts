// The adapter registry: what the sidecar loaded (name, source, local path, time), in memory and on disk
// (<state dir>/lora-adapters.json, written to a temp file, fsynced, renamed). Credentials are never stored:
// a reload after an engine restart uses the recorded local path, which is the exact path the first load
// handed the engine (AIBrix bug B6).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../lib/atomic-write.ts";
import type { Logger } from "../log.ts";

export interface AdapterRecord {
  name: string;
  /** artifact_url (delegation) or lora_path (direct), as the caller gave it. */
  source: string;
  mode: "direct" | "delegation";
  /** The path handed to the engine. */
  path: string;
  /** True when the sidecar downloaded `path` itself (only then may unload delete it). */
  downloaded: boolean;
  /** "loaded": the engine accepted it; "downloaded": files are ready but the engine load failed. */
  state: "loaded" | "downloaded";
  loaded_at: string;
  /** How many times the sidecar reloaded it on its own (engine restarts). */
  reloads: number;
}

interface FileShape {
  version: 1;
  adapters: AdapterRecord[];
}

export interface AdapterStore {
  get(name: string): AdapterRecord | undefined;
  all(): AdapterRecord[];
  put(rec: AdapterRecord): Promise<void>;
  delete(name: string): Promise<void>;
}

export async function openAdapterStore(stateDir: string, log: Logger): Promise<AdapterStore> {
  const file = join(stateDir, "lora-adapters.json");
  const map = new Map<string, AdapterRecord>();
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as FileShape;
    for (const r of parsed.adapters ?? []) if (r && typeof r.name === "string") map.set(r.name, r);
    log.info("adapter registry loaded", { file, adapters: map.size });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT")
      log.warn("adapter registry unreadable; starting empty", { file, error: e });
  }

  // Writes are chained so the file always reflects the latest state, never an interleaving. A failed
  // write keeps the change in memory (the adapter is loaded in the engine either way; only a sidecar
  // restart would forget it): logged once with its cause when writes start failing, and once on recovery.
  let writing: Promise<void> = Promise.resolve();
  let failing = false;
  const persist = () => {
    writing = writing.then(async () => {
      const body: FileShape = { version: 1, adapters: [...map.values()] };
      try {
        await writeFileAtomic(file, JSON.stringify(body));
        if (failing) log.info("adapter registry written again", { file });
        failing = false;
      } catch (e) {
        if (!failing) log.warn("could not write adapter registry; kept in memory only", { file, error: e });
        failing = true;
      }
    });
    return writing;
  };

  return {
    get: (name) => map.get(name),
    all: () => [...map.values()],
    async put(rec) {
      map.set(rec.name, rec);
      await persist();
    },
    async delete(name) {
      if (map.delete(name)) await persist();
    },
  };
}
